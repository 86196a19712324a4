using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Surgery;

/// <summary>
/// Drops graph outputs, by name or by FPN level, and every node and initializer that only fed them.
/// <code>
/// Before: fpn → p3 → head(w) → cls_p3 (output)       After: fpn → p4 → head(w) → cls_p4 (output)
///         fpn → p4 → head(w) → cls_p4 (output)
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// An output is dropped when it is named (by original name through the tensor map, else by current name), or
/// when it is a detector head output (<see cref="DetectorHeads"/>) of a listed level. Then the
/// dropped outputs' cone is walked in reverse topological order and each node none of whose
/// outputs is read any more is erased, followed by the initializers it alone read. Nodes that
/// still feed a kept output stay (the FPN top-down path into kept levels), and so do weights
/// shared with the kept levels' heads.
/// </para>
/// <para>
/// Names that match no output are ignored, so the pass is idempotent;
/// <see cref="Pipeline.ForSurgery"/> rejects unknown names before any pass runs. Dropping every
/// output is refused. Numerics: exact (what remains is not touched).
/// </para>
/// </remarks>
public sealed class PruneOutputs : GraphPass
{
    private readonly HashSet<string> _names;
    private readonly HashSet<int> _levels;
    private readonly DetectorHeads _heads;

    /// <summary>Creates the pass.</summary>
    /// <param name="outputs">Output names to drop (original names, else current names).</param>
    /// <param name="levels">FPN levels whose head outputs to drop (3 for P3).</param>
    /// <param name="heads">How head outputs are recognised; <see cref="DetectorHeads.Default"/> when null.</param>
    public PruneOutputs(IEnumerable<string>? outputs, IEnumerable<int>? levels = null, DetectorHeads? heads = null)
    {
        _names = new HashSet<string>(outputs ?? [], StringComparer.Ordinal);
        _levels = [.. levels ?? []];
        _heads = heads ?? DetectorHeads.Default;
    }

    /// <inheritdoc/>
    public override string Id => "prune-outputs";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <summary>The outputs of <paramref name="graph"/> the pass would drop.</summary>
    public IReadOnlyList<Value> Selected(IReadOnlyGraph graph, ProvenanceMap? provenance = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var named = _names.Select(n => OutputSurgery.Find(graph.Outputs, n, provenance)).OfType<Value>().ToHashSet();
        return [.. graph.Outputs.Where(o => named.Contains(o) || (_heads.Recognize(o, provenance) is { } h && _levels.Contains(h.Level)))];
    }

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        Graph graph = rewriter.Graph;
        IReadOnlyList<Value> drop = Selected(graph, rewriter.Provenance);
        if (drop.Count == 0)
        {
            return 0;
        }
        if (drop.Count == graph.Outputs.Count)
        {
            throw new ArgumentException($"Dropping {string.Join(", ", drop.Select(o => $"'{o.Name}'"))} would leave graph '{graph.Name}' without outputs.");
        }
        IReadOnlyList<Node> order = graph.TopologicalOrder();
        rewriter.RemoveOutputs(drop);
        // Walk consumers before producers, so a node is judged after everything reading it.
        var cone = new HashSet<Node>(drop.Select(o => o.Producer).OfType<Node>());
        var weights = new HashSet<Value>();
        int erased = 0;
        for (int i = order.Count - 1; i >= 0; i--)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Node n = order[i];
            if (!cone.Contains(n) || n.Outputs.Any(o => o is not null && (o.Uses.Count > 0 || o.IsGraphOutput)))
            {
                continue;
            }
            Value?[] inputs = [.. n.Inputs];
            rewriter.Erase(n);
            erased++;
            foreach (Value? v in inputs)
            {
                if (v?.Producer is { } p)
                {
                    cone.Add(p);
                }
                else if (v?.Initializer is not null)
                {
                    weights.Add(v);
                }
            }
        }
        foreach (Value w in graph.Initializers.Where(weights.Contains).ToList())
        {
            if (w.Uses.Count == 0 && !w.IsGraphInput && !w.IsGraphOutput)
            {
                rewriter.EraseInitializer(w);
            }
        }
        return drop.Count + erased;
    }
}
