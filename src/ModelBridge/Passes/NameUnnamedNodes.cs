using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Gives every unnamed node the deterministic name reports already know it by.
/// <code>
/// Before: '' = Conv(input, base_net.0.0.weight) → 245
/// After:  'Conv_245' = Conv(input, base_net.0.0.weight) → 245
/// </code>
/// </summary>
/// <remarks>
/// ONNX allows unnamed nodes, and PyTorch 1.2 and many converters leave every node unnamed; reports
/// would then list them as <c>''</c> and new nodes would have no root to be named after. The name is
/// <see cref="NodeNaming.NameOf"/> (<c>{OpType}_{first output}</c>), made unique should a named node
/// already use it, so <c>check</c> and <c>profile</c> of the original model and the converted graph
/// agree. Node names carry no provenance and no semantics. Numerics: exact.
/// </remarks>
public sealed class NameUnnamedNodes : GraphPass
{
    /// <inheritdoc/>
    public override string Id => "name-unnamed-nodes";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        int named = 0;
        foreach (Node n in rewriter.Graph.TopologicalOrder())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (n.Name.Length > 0)
            {
                continue;
            }
            rewriter.RenameNode(n, rewriter.Graph.UniqueNodeName(NodeNaming.NameOf(n)));
            named++;
        }
        return named;
    }
}
