using System.Globalization;
using System.Text.RegularExpressions;
using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Surgery;

/// <summary>
/// Reorders the graph outputs and renames graph outputs (and optionally inputs): the only pass
/// that changes interface names.
/// <code>
/// Before: outputs cls_p3, box_p3, cls_p4, box_p4        order [cls, box], pattern output_{index}
/// After:  outputs output_0 (cls_p3), output_1 (cls_p4), output_2 (box_p3), output_3 (box_p4)
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// <b>Order.</b> Each entry names an output (original name, else current name) or a head kind
/// (<c>cls</c>: all class outputs by level). Outputs not named keep their relative order after the
/// named ones. <b>Names.</b> An explicit map entry (keyed by original name, else current name) wins;
/// otherwise outputs take <c>pattern</c> and inputs <c>inputPattern</c>, with the placeholders
/// <c>{index}</c> (position after reordering, so indices stay contiguous after outputs were
/// dropped), <c>{name}</c> (original name), and for head outputs <c>{kind}</c> and <c>{level}</c>
/// (<c>{kind}_p{level}</c> gives back <c>cls_p3</c>). Initializers listed as inputs keep their names.
/// </para>
/// <para>
/// Names are resolved from the original names in the tensor map, so a second run computes the same
/// names and changes nothing. Renames go through temporary names, so outputs may swap names. An
/// internal value already holding a wanted name is moved to <c>{name}_internal</c>. A pattern that
/// gives two interface values the same name, or uses <c>{kind}</c>/<c>{level}</c> on an output that
/// is not a head, throws <see cref="ArgumentException"/> before anything changes. The tensor map's
/// keys are renamed along, so it keeps pointing at the original values. Numerics: exact.
/// </para>
/// </remarks>
public sealed partial class RenameOutputs : GraphPass
{
    private readonly string? _pattern;
    private readonly string? _inputPattern;
    private readonly IReadOnlyDictionary<string, string> _map;
    private readonly IReadOnlyList<string> _order;
    private readonly DetectorHeads _heads;

    /// <summary>Creates the pass.</summary>
    /// <param name="pattern">Output name pattern (<c>output_{index}</c>, <c>{kind}_{level}</c>), or null to keep names not in <paramref name="map"/>.</param>
    /// <param name="map">Explicit new names, keyed by original name (else current name), for outputs and inputs.</param>
    /// <param name="order">Output order: names or head kinds.</param>
    /// <param name="inputPattern">Input name pattern (<c>input_{index}</c>), or null to keep input names not in <paramref name="map"/>.</param>
    /// <param name="heads">How head outputs are recognised; <see cref="DetectorHeads.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A pattern uses an unknown placeholder.</exception>
    public RenameOutputs(string? pattern = null, IReadOnlyDictionary<string, string>? map = null, IReadOnlyList<string>? order = null,
        string? inputPattern = null, DetectorHeads? heads = null)
    {
        CheckPattern(pattern, ["index", "name", "kind", "level"], nameof(pattern));
        CheckPattern(inputPattern, ["index", "name"], nameof(inputPattern));
        _pattern = pattern;
        _inputPattern = inputPattern;
        _map = map ?? new Dictionary<string, string>();
        _order = order ?? [];
        _heads = heads ?? DetectorHeads.Default;
    }

    /// <inheritdoc/>
    public override string Id => "rename-outputs";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <summary>The output order the pass would set on <paramref name="graph"/>.</summary>
    public IReadOnlyList<Value> Order(IReadOnlyGraph graph, ProvenanceMap? provenance = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var result = new List<Value>();
        foreach (string entry in _order)
        {
            Value? named = OutputSurgery.Find(graph.Outputs, entry, provenance);
            IEnumerable<Value> picked = named is not null
                ? [named]
                : graph.Outputs.Select(o => (Value: o, Head: _heads.Recognize(o, provenance)))
                    .Where(h => h.Head is not null && string.Equals(h.Head.Kind, entry, StringComparison.OrdinalIgnoreCase))
                    .OrderBy(h => h.Head!.Level)
                    .Select(h => h.Value);
            result.AddRange(picked.Where(v => !result.Contains(v)));
        }
        result.AddRange(graph.Outputs.Where(o => !result.Contains(o)));
        return result;
    }

    /// <summary>The names the pass would give <paramref name="graph"/>'s inputs and outputs (outputs in their new order).</summary>
    /// <exception cref="ArgumentException">Two values would get the same name, or a head placeholder is used on a non-head output.</exception>
    public IReadOnlyList<(Value Value, string Name)> Names(IReadOnlyGraph graph, ProvenanceMap? provenance = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var names = new List<(Value, string)>();
        IReadOnlyList<Value> outputs = Order(graph, provenance);
        Value[] inputs = [.. graph.Inputs.Where(v => v.Initializer is null && !v.IsGraphOutput)];
        var mapped = new Dictionary<Value, string>();
        foreach (var (key, name) in _map)
        {
            if (OutputSurgery.Find(outputs.Concat(inputs), key, provenance) is { } v)
            {
                mapped[v] = name;
            }
        }
        for (int i = 0; i < outputs.Count; i++)
        {
            Value o = outputs[i];
            names.Add((o, mapped.GetValueOrDefault(o) ?? (_pattern is null ? o.Name : Expand(_pattern, i, o, provenance))));
        }
        for (int i = 0; i < inputs.Length; i++)
        {
            Value v = inputs[i];
            names.Add((v, mapped.GetValueOrDefault(v) ?? (_inputPattern is null ? v.Name : Expand(_inputPattern, i, v, provenance))));
        }
        var clash = names.GroupBy(n => n.Item2, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
        {
            throw new ArgumentException($"Renaming would give {string.Join(" and ", clash.Select(n => $"'{n.Item1.Name}'"))} the same name '{clash.Key}'.");
        }
        return names;
    }

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        Graph graph = rewriter.Graph;
        int changes = 0;
        IReadOnlyList<Value> order = Order(graph, rewriter.Provenance);
        IReadOnlyList<(Value Value, string Name)> names = Names(graph, rewriter.Provenance);
        if (!order.SequenceEqual(graph.Outputs))
        {
            rewriter.ReorderOutputs(order);
            changes++;
        }
        var renames = names.Where(n => n.Value.Name != n.Name).ToList();
        if (renames.Count == 0)
        {
            return changes;
        }
        var interfaceValues = names.Select(n => n.Value).ToHashSet();
        foreach (var (_, name) in renames)
        {
            if (graph.FindValue(name) is { } holder && !interfaceValues.Contains(holder))
            {
                // An internal value holds the wanted name; internal names are free to change.
                rewriter.RenameValue(holder, graph.UniqueValueName(name + "_internal"));
            }
        }
        // Through temporary names, so that outputs can swap names.
        for (int i = 0; i < renames.Count; i++)
        {
            rewriter.RenameInterfaceValue(renames[i].Value, graph.UniqueValueName(string.Create(CultureInfo.InvariantCulture, $"{renames[i].Name}/{Id}/{i}")));
        }
        foreach (var (value, name) in renames)
        {
            rewriter.RenameInterfaceValue(value, name);
        }
        return changes + renames.Count;
    }

    private string Expand(string pattern, int index, Value v, ProvenanceMap? provenance)
    {
        string original = DetectorHeads.OriginalName(v, provenance);
        return Placeholder().Replace(pattern, m => m.Groups[1].Value switch
        {
            "index" => index.ToString(CultureInfo.InvariantCulture),
            "name" => original,
            "kind" => Head(v, provenance, pattern).Kind,
            "level" => Head(v, provenance, pattern).Level.ToString(CultureInfo.InvariantCulture),
            var p => throw new ArgumentException($"Unknown placeholder '{{{p}}}' in '{pattern}'."),
        });
    }

    private HeadOutput Head(Value v, ProvenanceMap? provenance, string pattern) =>
        _heads.Recognize(v, provenance)
        ?? throw new ArgumentException($"Output '{v.Name}' is not a detector head output, so pattern '{pattern}' cannot name it; map it explicitly.");

    private static void CheckPattern(string? pattern, string[] allowed, string paramName)
    {
        if (pattern is null)
        {
            return;
        }
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern, paramName);
        foreach (Match m in Placeholder().Matches(pattern))
        {
            if (!allowed.Contains(m.Groups[1].Value))
            {
                throw new ArgumentException($"Unknown placeholder '{m.Value}' in '{pattern}'; use {string.Join(", ", allowed.Select(a => "{" + a + "}"))}.", paramName);
            }
        }
    }

    [GeneratedRegex(@"\{(\w+)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
