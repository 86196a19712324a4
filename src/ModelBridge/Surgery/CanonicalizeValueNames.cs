using System.Globalization;
using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Surgery;

/// <summary>
/// Gives internal values and nodes short, unique, stable names, for runtimes that limit name length.
/// <code>
/// Before: %/head/cls_subnet/cls_subnet.0/Conv_output_0 = Conv(%x, %head.cls_subnet.0.weight)  name '/head/cls_subnet/cls_subnet.0/Conv'
/// After:  %t2 = Conv(%x, %t0)                                                                   name 'n0'
/// </code>
/// </summary>
/// <remarks>
/// Values are numbered <c>t0, t1, …</c> in the order a deterministic topological walk first meets
/// them (each node's constant inputs, then its outputs; unread initializers last, by name), and
/// nodes <c>n0, n1, …</c> in that walk's order, so the same graph always gets the same names.
/// Graph inputs and outputs keep their names (see <see cref="RenameOutputs"/>) and numbers that
/// would collide with them are skipped; values a subgraph captures by name are left alone. The
/// tensor map's keys are renamed along, so it keeps pointing at the original values. A second run
/// changes nothing. Numerics: exact.
/// </remarks>
public sealed class CanonicalizeValueNames : GraphPass
{
    /// <inheritdoc/>
    public override string Id => "canonicalize-value-names";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        Graph graph = rewriter.Graph;
        IReadOnlyList<Node> order = graph.TopologicalOrder();
        var values = new List<Value>();
        var seen = new HashSet<Value>();
        void Visit(Value? v)
        {
            if (v is not null && !v.IsGraphInput && !v.IsGraphOutput && !v.Uses.Any(u => u.IsImplicit) && seen.Add(v))
            {
                values.Add(v);
            }
        }
        foreach (Node n in order)
        {
            foreach (Value? v in n.Inputs.Where(v => v?.Initializer is not null))
            {
                Visit(v);
            }
            foreach (Value? v in n.Outputs)
            {
                Visit(v);
            }
        }
        foreach (Value v in graph.Initializers.OrderBy(v => v.Name, StringComparer.Ordinal))
        {
            Visit(v);
        }
        // Names of values kept as they are (interface, captured) are not handed out.
        var reserved = graph.Values.Where(v => !seen.Contains(v)).Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        int changes = Rename(values, Numbered("t", values.Count, reserved),
            v => v.Name, (v, name) => rewriter.RenameValue(v, name), graph.UniqueValueName);
        changes += Rename(order, Numbered("n", order.Count, []),
            n => n.Name, (n, name) => rewriter.RenameNode(n, name), graph.UniqueNodeName);
        return changes;
    }

    private static List<string> Numbered(string prefix, int count, HashSet<string> reserved)
    {
        var names = new List<string>(count);
        for (int i = 0; names.Count < count; i++)
        {
            string name = prefix + i.ToString(CultureInfo.InvariantCulture);
            if (!reserved.Contains(name))
            {
                names.Add(name);
            }
        }
        return names;
    }

    /// <summary>Renames the items whose name differs from the target, through temporary names so targets may be taken by each other.</summary>
    private static int Rename<T>(IReadOnlyList<T> items, List<string> targets, Func<T, string> nameOf, Action<T, string> rename, Func<string, string> unique)
    {
        var pending = Enumerable.Range(0, items.Count).Where(i => nameOf(items[i]) != targets[i]).ToList();
        foreach (int i in pending)
        {
            rename(items[i], unique(string.Create(CultureInfo.InvariantCulture, $"canonicalize-value-names/{i}/{nameOf(items[i])}")));
        }
        foreach (int i in pending)
        {
            rename(items[i], targets[i]);
        }
        return pending.Count;
    }
}
