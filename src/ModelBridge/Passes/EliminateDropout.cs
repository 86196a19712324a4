using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Removes inference-mode Dropout.
/// <code>
/// Before: x → Dropout(ratio) → y        After: x → y's readers
/// </code>
/// </summary>
/// <remarks>
/// Applies when the mask output is absent or unread and, from opset 12, when
/// <c>training_mode</c> is absent or a constant false (the spec makes Dropout an identity then).
/// Numerics: exact.
/// </remarks>
public sealed class EliminateDropout : RewritePattern<EliminateDropout.Found>
{
    /// <summary>The matched Dropout.</summary>
    /// <param name="Node">The Dropout node.</param>
    public sealed record Found(Node Node);

    /// <inheritdoc/>
    public override string Id => "eliminate-dropout";

    /// <inheritdoc/>
    public override string RootOp => "Dropout";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        if (root.Input(0) is not { } x || root.Output(0) is not { } y)
        {
            return MatchResult.Fail("Dropout without data input or output");
        }
        if (root.Output(1) is { } mask && (mask.Uses.Count > 0 || mask.IsGraphOutput))
        {
            return MatchResult.Fail($"the mask output '{mask.Name}' is used");
        }
        if (root.Input(2) is { } training)
        {
            if (Constants.Of(training) is not { } t || !DataTypes.IsConvertible(t.DataType) || t.ToInt64Array().Any(v => v != 0))
            {
                return MatchResult.Fail("training_mode is not a constant false");
            }
        }
        if (y.IsGraphOutput && (x.IsGraphInput || x.IsGraphOutput))
        {
            return MatchResult.Fail($"'{y.Name}' is a graph output and '{x.Name}' is a graph input or output");
        }
        if (y.Uses.Any(u => u.IsImplicit))
        {
            return MatchResult.Fail($"'{y.Name}' is captured by a subgraph");
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
