using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Lowers a grouped (not depthwise) convolution to one ordinary convolution per group, for targets
/// without grouped convolution.
/// <code>
/// Before: x[N,Ci,H,W] → Conv(W[Co,Ci/G,k,k], b[Co], group=G) → y
/// After:  x → Split(axis=1, G) → x_g → Conv(W[g·Co/G : (g+1)·Co/G], b[same]) → y_g   (g = 0..G−1)
///         Concat(y_0..y_{G−1}, axis=1) → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: 1 &lt; group &lt; C_in (depthwise convolutions are left to
/// <see cref="LowerDepthwiseMultiplier"/>), constant weight and bias. Split is written in the
/// form the opset wants: equal split without sizes before 18, <c>num_outputs</c> from 18.
/// </para>
/// <para>
/// Formula (spec): group g reads input channels [g·Ci/G, (g+1)·Ci/G) and produces output channels
/// [g·Co/G, (g+1)·Co/G), which is exactly what each per-group convolution computes. Each group's
/// output is recorded as a channel slice of the original output for layer-by-layer parity.
/// </para>
/// <para>
/// Numerics: exact. ONNX Runtime's grouped kernel runs one GEMM per group over the same
/// im2col columns, so each output element sums the same products in the same order; the tests
/// check bit-identity on several seeded shapes.
/// </para>
/// </remarks>
public sealed class LowerGroupedConv : RewritePattern<LowerGroupedConv.Found>
{
    /// <summary>A grouped convolution.</summary>
    /// <param name="Conv">The node.</param>
    /// <param name="Groups">G.</param>
    /// <param name="Weight">W.</param>
    /// <param name="Bias">b, or null.</param>
    public sealed record Found(Node Conv, int Groups, Tensor Weight, float[]? Bias);

    /// <inheritdoc/>
    public override string Id => "lower-grouped-conv";

    /// <inheritdoc/>
    public override string RootOp => "Conv";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Split", "Conv", "Concat"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        long group = root.GetInt("group", 1);
        if (group <= 1)
        {
            return MatchResult.Fail("group is 1");
        }
        if (Constants.Of(root.Input(1)) is not { DataType: DataType.Float, Dims.Length: >= 3 } w)
        {
            return MatchResult.Fail("the weight is not a constant float tensor");
        }
        long cin = w.Dims[1] * group;
        if (group == cin)
        {
            return MatchResult.Fail("depthwise (group = C_in); see lower-depthwise-multiplier");
        }
        if (w.Dims[0] % group != 0)
        {
            return MatchResult.Fail($"{w.Dims[0]} output channels do not split into {group} groups");
        }
        float[]? bias = null;
        if (root.Input(2) is { } b && (bias = Patterns.ConstFloats(b)) is null)
        {
            return MatchResult.Fail("the bias is not constant");
        }
        return new Found(root, (int)group, w, bias);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Node conv = match.Conv;
        Value x = conv.Inputs[0]!;
        Value y = conv.Outputs[0]!;
        int g = match.Groups;
        long[] wDims = [.. match.Weight.Dims];
        long coPerGroup = wDims[0] / g;
        int perGroup = (int)(match.Weight.ElementCount / g);
        ReadOnlySpan<float> weights = match.Weight.AsSpan<float>();
        bool numOutputs = (rewriter.Graph.OpsetVersion("") ?? 13) >= 18;
        Node split = rewriter.CreateNode("Split", [x], "split", g,
            numOutputs ? [Attr.Int("axis", 1), Attr.Int("num_outputs", g)] : [Attr.Int("axis", 1)], placeAfter: conv);
        List<AttributeValue> attrs = ConvWindow.With(conv, [Attr.Int("group", 1)]);
        var parts = new Value[g];
        for (int i = 0; i < g; i++)
        {
            string role = $"group{i}";
            Value wi = rewriter.CreateInitializer(role + "_weight",
                Tensor.Create<float>([coPerGroup, .. wDims[1..]], weights.Slice(i * perGroup, perGroup)));
            Value? bi = match.Bias is null ? null
                : rewriter.CreateInitializer(role + "_bias", Tensor.Create<float>([coPerGroup], match.Bias.AsSpan((int)(i * coPerGroup), (int)coPerGroup)));
            Node part = rewriter.CreateNode("Conv", bi is null ? [split.Outputs[i], wi] : [split.Outputs[i], wi, bi], role,
                attributes: attrs, derivedFrom: [x], placeAfter: conv);
            parts[i] = part.Outputs[0]!;
            rewriter.DeclareSlice(parts[i], y, new ChannelSlice(1, [.. Enumerable.Range((int)(i * coPerGroup), (int)coPerGroup).Select(c => (long)c)]));
        }
        Node concat = rewriter.CreateNode("Concat", parts, "concat", attributes: [Attr.Int("axis", 1)], derivedFrom: [x], placeAfter: conv);
        rewriter.Replace(y, concat.Outputs[0]!);
        rewriter.EraseIfUnused([conv]);
    }
}
