using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Turns Constant nodes into initializers.
/// <code>
/// Before: Constant(value=T) → c → readers      After: initializer c = T → readers
/// </code>
/// </summary>
/// <remarks>
/// Handles <c>value</c>, <c>value_float(s)</c> and <c>value_int(s)</c>; sparse and string
/// constants are left alone. The initializer keeps the output's name. Numerics: exact.
/// </remarks>
public sealed class ConstantToInitializer : RewritePattern<ConstantToInitializer.Found>
{
    /// <summary>The matched Constant and its payload.</summary>
    /// <param name="Node">The Constant node.</param>
    /// <param name="Value">Its payload.</param>
    public sealed record Found(Node Node, Tensor Value);

    /// <inheritdoc/>
    public override string Id => "constant-to-initializer";

    /// <inheritdoc/>
    public override string RootOp => "Constant";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        if (root.Output(0) is not { } output)
        {
            return MatchResult.Fail("Constant without output");
        }
        if (output.Uses.Any(u => u.IsImplicit))
        {
            return MatchResult.Fail($"'{output.Name}' is captured by a subgraph");
        }
        Tensor? t = Constants.OfConstantNode(root);
        if (t is null)
        {
            return MatchResult.Fail("sparse or string constants are kept as nodes");
        }
        return new Found(root, t);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Value init = rewriter.CreateInitializer("value", match.Value);
        rewriter.Replace(match.Node.Outputs[0]!, init);
        rewriter.EraseIfUnused([match.Node]);
    }
}
