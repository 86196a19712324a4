using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Removes nodes none of whose outputs is read or is a graph output, then initializers nothing reads.
/// <code>
/// Before: x → A → y (graph output), x → B → z (unread)      After: x → A → y
/// </code>
/// </summary>
/// <remarks>ONNX operators have no side effects, so an unread node can go. Numerics: exact.</remarks>
public sealed class EliminateDeadNodes : GraphPass
{
    /// <inheritdoc/>
    public override string Id => "eliminate-dead-nodes";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        int removed = 0;
        IReadOnlyList<Node> order = rewriter.Graph.TopologicalOrder();
        for (int i = order.Count - 1; i >= 0; i--)
        {
            Node n = order[i];
            if (n.Outputs.All(o => o is null || (o.Uses.Count == 0 && !o.IsGraphOutput)))
            {
                rewriter.Erase(n);
                removed++;
            }
        }
        foreach (Value init in rewriter.Graph.Initializers.ToList())
        {
            if (init.Uses.Count == 0 && !init.IsGraphOutput && !init.IsGraphInput)
            {
                rewriter.EraseInitializer(init);
                removed++;
            }
        }
        return removed;
    }
}
