using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>How <see cref="DecomposeGroupNorm"/> expresses the normalisation.</summary>
public enum GroupNormDecomposition
{
    /// <summary>Reshape → InstanceNormalization → Reshape → Mul → Add (targets with InstanceNormalization).</summary>
    InstanceNorm,

    /// <summary>Reshape → ReduceMean → Sub → Mul → ReduceMean → Add → Sqrt → Div → Reshape → Mul → Add.</summary>
    Moments,
}

/// <summary>
/// Decomposes <c>GroupNormalization</c> into operators a target has, with constant shapes only.
/// <code>
/// Before: x[N,C,H,W] → GroupNormalization(scale[C], bias[C], G, ε) → y
/// After (InstanceNorm): x → Reshape([N,G,-1]) → InstanceNormalization(ones[G], zeros[G], ε) → Reshape([N,C,H,W]) → Mul(w[C,1,1]) → Add(b[C,1,1]) → y
/// After (Moments):      x → Reshape([N,G,-1]) → r; m = ReduceMean(r); d = r − m; v = ReduceMean(d·d);
///                       n = d / Sqrt(v + ε) → Reshape([N,C,H,W]) → Mul(w) → Add(b) → y
/// </code>
/// </summary>
/// <remarks>
/// Needs x's static shape (pin the batch dimension). No Shape operator is emitted. ReduceMean
/// takes its axes as an attribute before opset 18 and as an input from 18, as the spec requires.
/// GroupNormalization-18 (per-group scale, opsets 18–20) is expanded per channel first.
/// Numerics: approximate.
/// </remarks>
public sealed class DecomposeGroupNorm : RewritePattern<DecomposeGroupNorm.Found>
{
    /// <summary>Creates the pass for the given form.</summary>
    public DecomposeGroupNorm(GroupNormDecomposition form) => Form = form;

    /// <summary>The form emitted.</summary>
    public GroupNormDecomposition Form { get; }

    /// <summary>A GroupNormalization with static input shape.</summary>
    /// <param name="Node">The node.</param>
    /// <param name="Shape">x's static shape.</param>
    /// <param name="Groups">G.</param>
    /// <param name="Scale">Per-channel scale.</param>
    /// <param name="Bias">Per-channel bias.</param>
    public sealed record Found(Node Node, long[] Shape, long Groups, float[] Scale, float[] Bias);

    /// <inheritdoc/>
    public override string Id => Form == GroupNormDecomposition.InstanceNorm ? "decompose-groupnorm-instancenorm" : "decompose-groupnorm-moments";

    /// <inheritdoc/>
    public override string RootOp => "GroupNormalization";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => Form == GroupNormDecomposition.InstanceNorm
        ? ["Reshape", "InstanceNormalization", "Mul", "Add"]
        : ["Reshape", "ReduceMean", "Sub", "Mul", "Add", "Sqrt", "Div"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-4, atol: 1e-5);

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        if (graph.Shapes.StaticDimsOf(root.Input(0)) is not { Length: >= 3 } shape)
        {
            return MatchResult.Fail("x's shape is not static (pin symbolic dims and run shape inference)");
        }
        long groups = root.GetInt("num_groups");
        long c = shape[1];
        if (groups <= 0 || c % groups != 0)
        {
            return MatchResult.Fail($"{c} channels do not split into {groups} groups");
        }
        float[]? scale = Patterns.ConstFloats(root.Input(1)), bias = Patterns.ConstFloats(root.Input(2));
        if (scale is null || bias is null)
        {
            return MatchResult.Fail("scale and bias must be constant");
        }
        if (scale.Length == groups && bias.Length == groups && groups != c && (graph.OpsetVersion("") ?? 21) < 21)
        {
            scale = [.. Enumerable.Range(0, (int)c).Select(i => scale[i / (int)(c / groups)])];
            bias = [.. Enumerable.Range(0, (int)c).Select(i => bias[i / (int)(c / groups)])];
        }
        if (scale.Length != c || bias.Length != c)
        {
            return MatchResult.Fail($"scale/bias have {scale.Length}/{bias.Length} elements, expected {c}");
        }
        if (root.GetInt("stash_type", 1) != 1)
        {
            return MatchResult.Fail("stash_type other than float32 is not decomposed");
        }
        return new Found(root, shape, groups, scale, bias);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found m)
    {
        Node gn = m.Node;
        Value x = gn.Inputs[0]!;
        float eps = gn.GetFloat("epsilon", 1e-5f);
        long n = m.Shape[0], c = m.Shape[1];
        long[] affineDims = [c, .. Enumerable.Repeat(1L, m.Shape.Length - 2)];
        Value groupShape = rewriter.CreateInitializer("group_shape", Tensor.Create<long>([3], [n, m.Groups, -1]));
        Value fullShape = rewriter.CreateInitializer("shape", Tensor.Create<long>([m.Shape.Length], m.Shape));
        Node r = rewriter.CreateNode("Reshape", [x, groupShape], "group", derivedFrom: [x], placeAfter: gn);
        Value normalized;
        if (Form == GroupNormDecomposition.InstanceNorm)
        {
            Value ones = rewriter.CreateInitializer("ones", Tensor.Create<float>([m.Groups], [.. Enumerable.Repeat(1f, (int)m.Groups)]));
            Value zeros = rewriter.CreateInitializer("zeros", Tensor.Create<float>([m.Groups], new float[m.Groups]));
            normalized = rewriter.CreateNode("InstanceNormalization", [r.Outputs[0], ones, zeros], "norm",
                attributes: [Attr.Float("epsilon", eps)], derivedFrom: [x], placeAfter: gn).Outputs[0]!;
        }
        else
        {
            bool axesAsInput = (rewriter.Graph.OpsetVersion("") ?? 18) >= 18;
            Value? axesInput = axesAsInput ? rewriter.CreateInitializer("axes", Tensor.Create<long>([1], [2])) : null;
            Node Reduce(Value v, string role) => rewriter.CreateNode("ReduceMean", axesAsInput ? [v, axesInput] : [v], role,
                attributes: axesAsInput ? [Attr.Int("keepdims", 1)] : [Attr.Ints("axes", 2), Attr.Int("keepdims", 1)], derivedFrom: [x], placeAfter: gn);
            Value grouped = r.Outputs[0]!;
            Node mean = Reduce(grouped, "mean");
            Node d = rewriter.CreateNode("Sub", [grouped, mean.Outputs[0]], "centered", derivedFrom: [x], placeAfter: gn);
            Node sq = rewriter.CreateNode("Mul", [d.Outputs[0], d.Outputs[0]], "squared", derivedFrom: [x], placeAfter: gn);
            Node variance = Reduce(sq.Outputs[0]!, "variance");
            Value epsV = rewriter.CreateInitializer("epsilon", Tensor.Create<float>([], [eps]));
            Node ve = rewriter.CreateNode("Add", [variance.Outputs[0], epsV], "variance_eps", derivedFrom: [x], placeAfter: gn);
            Node sd = rewriter.CreateNode("Sqrt", [ve.Outputs[0]], "std", derivedFrom: [x], placeAfter: gn);
            normalized = rewriter.CreateNode("Div", [d.Outputs[0], sd.Outputs[0]], "norm", derivedFrom: [x], placeAfter: gn).Outputs[0]!;
        }
        Node back = rewriter.CreateNode("Reshape", [normalized, fullShape], "restore", derivedFrom: [x], placeAfter: gn);
        Value w = rewriter.CreateInitializer("scale", Tensor.Create<float>(affineDims, m.Scale));
        Value b = rewriter.CreateInitializer("bias", Tensor.Create<float>(affineDims, m.Bias));
        Node mul = rewriter.CreateNode("Mul", [back.Outputs[0], w], "scale", derivedFrom: [x], placeAfter: gn);
        Node add = rewriter.CreateNode("Add", [mul.Outputs[0], b], "bias", derivedFrom: [x], placeAfter: gn);
        rewriter.Replace(gn.Outputs[0]!, add.Outputs[0]!);
        rewriter.EraseIfUnused([gn]);
    }
}
