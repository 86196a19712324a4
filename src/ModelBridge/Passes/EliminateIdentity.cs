using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Removes Identity nodes.
/// <code>
/// Before: x → Identity → y → readers      After: x → readers
/// </code>
/// </summary>
/// <remarks>
/// Readers of y read x instead. When y is a graph output, x takes the name y so the graph's
/// interface does not change; the pass does not apply when x is itself a graph input or output
/// (two interface names cannot be merged) or when a subgraph captures y by name.
/// Numerics: exact.
/// </remarks>
public sealed class EliminateIdentity : RewritePattern<EliminateIdentity.Found>
{
    /// <summary>The matched Identity.</summary>
    /// <param name="Node">The Identity node.</param>
    public sealed record Found(Node Node);

    /// <inheritdoc/>
    public override string Id => "eliminate-identity";

    /// <inheritdoc/>
    public override string RootOp => "Identity";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        if (root.Input(0) is not { } x || root.Output(0) is not { } y)
        {
            return MatchResult.Fail("Identity without input or output");
        }
        if (y.Uses.Any(u => u.IsImplicit))
        {
            return MatchResult.Fail($"'{y.Name}' is captured by a subgraph");
        }
        if (y.IsGraphOutput && (x.IsGraphInput || x.IsGraphOutput))
        {
            return MatchResult.Fail($"'{y.Name}' is a graph output and '{x.Name}' is a graph input or output; both names must stay");
        }
        return new Found(root);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        rewriter.Replace(match.Node.Outputs[0]!, match.Node.Inputs[0]!);
        rewriter.EraseIfUnused([match.Node]);
    }
}
