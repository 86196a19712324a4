using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>Shared shape of the activation lowerings: one node in, a small expression out.</summary>
/// <remarks>Each subclass documents its formula and contract. The replaced output keeps its name.</remarks>
public abstract class LowerActivation : RewritePattern<Node>
{
    /// <inheritdoc/>
    protected override MatchResult<Node> Match(IReadOnlyGraph graph, Node root)
    {
        if (root.Input(0) is null || root.Output(0) is not { } y)
        {
            return MatchResult.Fail($"{RootOp} without input or output");
        }
        if (y.Uses.Any(u => u.IsImplicit))
        {
            return MatchResult.Fail($"'{y.Name}' is captured by a subgraph");
        }
        if (Patterns.LegacyBroadcastReason(graph) is { } legacy)
        {
            return MatchResult.Fail(legacy);
        }
        return Check(graph, root) is { } reason ? MatchResult.Fail(reason) : root;
    }

    /// <summary>Extra preconditions; a reason when they fail.</summary>
    protected virtual string? Check(IReadOnlyGraph graph, Node root) => null;

    /// <summary>Builds the replacement of <paramref name="root"/>'s output.</summary>
    protected abstract Value Build(GraphRewriter rewriter, Node root, Value x);

    /// <inheritdoc/>
    protected sealed override void Rewrite(GraphRewriter rewriter, Node match)
    {
        Value result = Build(rewriter, match, match.Inputs[0]!);
        rewriter.Replace(match.Outputs[0]!, result);
        rewriter.EraseIfUnused([match]);
    }

    /// <summary>A float scalar initializer.</summary>
    protected static Value Scalar(GraphRewriter rewriter, string role, float v) => rewriter.CreateInitializer(role, Tensor.Create<float>([], [v]));

    /// <summary>Clip(x, lo, hi) in the form the graph's opset wants (inputs from 11, attributes before).</summary>
    protected static Value Clip(GraphRewriter rewriter, Node anchor, Value x, float lo, float hi, string role)
    {
        if ((rewriter.Graph.OpsetVersion("") ?? 13) >= 11)
        {
            return rewriter.CreateNode("Clip", [x, Scalar(rewriter, role + "_min", lo), Scalar(rewriter, role + "_max", hi)], role, placeAfter: anchor).Outputs[0]!;
        }
        return rewriter.CreateNode("Clip", [x], role, attributes: [Attr.Float("min", lo), Attr.Float("max", hi)], placeAfter: anchor).Outputs[0]!;
    }

    /// <summary>A binary node.</summary>
    protected static Value Op(GraphRewriter rewriter, Node anchor, string op, Value a, Value? b, string role) =>
        rewriter.CreateNode(op, b is null ? [a] : [a, b], role, placeAfter: anchor).Outputs[0]!;
}
