using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Lowers a depthwise convolution with channel multiplier M &gt; 1 to M depthwise convolutions of
/// multiplier 1, for targets whose depthwise kernel has no multiplier.
/// <code>
/// Before: x[N,C,H,W] → Conv(W[M·C,1,k,k], group=C) → y[N,M·C,H',W']
/// After:  x → Conv(W_m[C,1,k,k], group=C) → y_m          (m = 0..M−1; W_m[c] = W[c·M + m])
///         Concat(y_0..y_{M−1}, axis=1) → [N,M·C,H',W'] (channel m·C + c)
///         → Reshape[N,M,C,H'·W'] → Transpose[0,2,1,3] → Reshape[N,C·M,H',W'] → y
/// After (into the pointwise conv, when y's only reader is a 1×1 Conv P):
///         Concat(y_0..y_{M−1}, axis=1) → Conv(P', 1×1) → z,   P'[:, m·C + c] = P[:, c·M + m]
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: group = C_in, C_out = M·C_in with M &gt; 1, constant weight and bias, and
/// (for the reshape form) y's spatial dims static or computable from x's. ONNX's depthwise layout puts output channel
/// o in group o / M, so o = c·M + m reads input channel c with filter m; the concatenation
/// orders channels m·C + c and the Reshape/Transpose/Reshape restores c·M + m.
/// </para>
/// <para>
/// The pointwise form (<c>intoPointwise: true</c>) applies when y's only reader is a 1×1 Conv
/// with group 1, unit strides, no padding and a constant weight: instead of moving the channels
/// back, that conv's input channels are permuted to the concatenation's order. It is cheaper
/// but reorders the pointwise sum, so it is approximate; the reshape form only moves values.
/// </para>
/// <para>
/// Numerics: approximate in both forms, rtol 1e-5, atol 1e-6. ONNX Runtime computes a
/// multiplier-1 depthwise convolution with a different kernel than a multiplier-M one: measured on
/// five seeded shapes (C 3–32, M 2–4, k 3 and 5), no output was bit-identical, and the
/// relative-to-max difference stayed below 3.2e-7.
/// </para>
/// </remarks>
public sealed class LowerDepthwiseMultiplier : RewritePattern<LowerDepthwiseMultiplier.Found>
{
    /// <summary>Creates the pass in the reshape form or the pointwise form.</summary>
    /// <param name="intoPointwise">Permute a following 1×1 convolution's input channels instead of reordering y.</param>
    public LowerDepthwiseMultiplier(bool intoPointwise = false) => IntoPointwise = intoPointwise;

    /// <summary>True for the pointwise form.</summary>
    public bool IntoPointwise { get; }

    /// <summary>A depthwise convolution with multiplier M.</summary>
    /// <param name="Conv">The node.</param>
    /// <param name="Channels">C (= group).</param>
    /// <param name="Multiplier">M.</param>
    /// <param name="Weight">W[M·C, 1, k...].</param>
    /// <param name="Bias">b[M·C], or null.</param>
    /// <param name="OutputSpatial">y's spatial dims (reshape form).</param>
    /// <param name="Pointwise">The following 1×1 Conv (pointwise form).</param>
    public sealed record Found(Node Conv, long Channels, long Multiplier, Tensor Weight, float[]? Bias, long[]? OutputSpatial, Node? Pointwise);

    /// <inheritdoc/>
    public override string Id => IntoPointwise ? "lower-depthwise-multiplier-into-pointwise" : "lower-depthwise-multiplier";

    /// <inheritdoc/>
    public override string RootOp => "Conv";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => IntoPointwise ? ["Conv", "Concat"] : ["Conv", "Concat", "Reshape", "Transpose"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-5, atol: 1e-6);

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        long group = root.GetInt("group", 1);
        if (Constants.Of(root.Input(1)) is not { DataType: DataType.Float, Dims.Length: >= 3 } w)
        {
            return MatchResult.Fail("the weight is not a constant float tensor");
        }
        if (group <= 1 || w.Dims[1] != 1)
        {
            return MatchResult.Fail("not depthwise (group ≠ C_in)");
        }
        long c = group;
        if (w.Dims[0] % c != 0 || w.Dims[0] / c <= 1)
        {
            return MatchResult.Fail($"channel multiplier is {w.Dims[0]}/{c}, not an integer above 1");
        }
        float[]? bias = null;
        if (root.Input(2) is { } b && (bias = Patterns.ConstFloats(b)) is null)
        {
            return MatchResult.Fail("the bias is not constant");
        }
        Value y = root.Outputs[0]!;
        if (!IntoPointwise)
        {
            var (own, why) = ConvWindow.TryRead(root, graph.Shapes);
            if (own?.ConvOutputSpatial(graph.Shapes, root) is not { } spatial)
            {
                return MatchResult.Fail(why ?? "the output's spatial dims are not static (run shape inference)");
            }
            return new Found(root, c, w.Dims[0] / c, w, bias, spatial, null);
        }
        if (Patterns.SoleConsumer(y) is not { OpType: "Conv", IsStandardDomain: true } pw || pw.Inputs[0] != y)
        {
            return MatchResult.Fail("the output's only reader is not a Conv");
        }
        if (pw.GetInt("group", 1) != 1 || Constants.Of(pw.Input(1)) is not { DataType: DataType.Float } pwW
            || pwW.Dims.Skip(2).Any(k => k != 1))
        {
            return MatchResult.Fail("the reader is not a 1×1, group-1 Conv with a constant weight");
        }
        var (window, reason) = ConvWindow.TryRead(pw, graph.Shapes);
        if (window is null || window.AutoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER")
            || window.Pads.Any(p => p != 0) || window.Strides.Any(s => s != 1))
        {
            return MatchResult.Fail(reason ?? "the 1×1 reader pads or strides");
        }
        return new Found(root, c, w.Dims[0] / c, w, bias, null, pw);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found m)
    {
        Node conv = m.Conv;
        Value x = conv.Inputs[0]!;
        Value y = conv.Outputs[0]!;
        long c = m.Channels, mult = m.Multiplier;
        long[] wDims = [.. m.Weight.Dims];
        int kernel = (int)(m.Weight.ElementCount / wDims[0]);
        ReadOnlySpan<float> weights = m.Weight.AsSpan<float>();
        var parts = new Value[mult];
        for (int j = 0; j < mult; j++)
        {
            var wj = new float[c * kernel];
            var bj = m.Bias is null ? null : new float[c];
            for (int ch = 0; ch < c; ch++)
            {
                long o = ch * mult + j;
                weights.Slice((int)(o * kernel), kernel).CopyTo(wj.AsSpan(ch * kernel, kernel));
                if (bj is not null)
                {
                    bj[ch] = m.Bias![o];
                }
            }
            string role = $"multiplier{j}";
            Value wv = rewriter.CreateInitializer(role + "_weight", Tensor.Create<float>([c, .. wDims[1..]], wj));
            Value?[] ins = bj is null ? [x, wv] : [x, wv, rewriter.CreateInitializer(role + "_bias", Tensor.Create<float>([c], bj))];
            parts[j] = rewriter.CreateNode("Conv", ins, role, attributes: conv.Attributes, derivedFrom: [x], placeAfter: conv).Outputs[0]!;
            rewriter.DeclareSlice(parts[j], y, new ChannelSlice(1, [.. Enumerable.Range(0, (int)c).Select(ch => ch * mult + j)]));
        }
        Node concat = rewriter.CreateNode("Concat", parts, "concat", attributes: [Attr.Int("axis", 1)], derivedFrom: [x], placeAfter: conv);
        if (m.Pointwise is { } pw)
        {
            RewritePointwise(rewriter, m, pw, concat.Outputs[0]!);
            rewriter.EraseIfUnused([pw, conv]);
            return;
        }
        Value grouped = rewriter.CreateInitializer("grouped_shape", Tensor.Create<long>([4], [0, mult, c, -1]));
        Value perm = rewriter.CreateNode("Reshape", [concat.Outputs[0], grouped], "grouped", derivedFrom: [x], placeAfter: conv).Outputs[0]!;
        perm = rewriter.CreateNode("Transpose", [perm], "interleave", attributes: [Attr.Ints("perm", 0, 2, 1, 3)], derivedFrom: [x], placeAfter: conv).Outputs[0]!;
        long[] outShape = [0, c * mult, .. m.OutputSpatial!];
        Value shape = rewriter.CreateInitializer("shape", Tensor.Create<long>([outShape.Length], outShape));
        Node restore = rewriter.CreateNode("Reshape", [perm, shape], "restore", derivedFrom: [x], placeAfter: conv);
        rewriter.Replace(y, restore.Outputs[0]!);
        rewriter.EraseIfUnused([conv]);
    }

    /// <summary>P'[:, j·C + c] = P[:, c·M + j]: the pointwise conv reads the concatenation's channel order.</summary>
    private static void RewritePointwise(GraphRewriter rewriter, Found m, Node pw, Value concatenated)
    {
        Tensor pwW = Constants.Of(pw.Inputs[1])!;
        long co = pwW.Dims[0], ci = pwW.Dims[1];
        ReadOnlySpan<float> p = pwW.AsSpan<float>();
        var permuted = new float[p.Length];
        long c = m.Channels, mult = m.Multiplier;
        for (long o = 0; o < co; o++)
        {
            for (long ch = 0; ch < c; ch++)
            {
                for (long j = 0; j < mult; j++)
                {
                    permuted[o * ci + j * c + ch] = p[(int)(o * ci + ch * mult + j)];
                }
            }
        }
        Value wv = rewriter.CreateInitializer("pointwise_weight", Tensor.Create<float>([.. pwW.Dims], permuted));
        Node fused = rewriter.CreateNode("Conv", [concatenated, wv, .. pw.Inputs.Skip(2)], "pointwise", attributes: pw.Attributes,
            derivedFrom: [m.Conv.Inputs[0]!], placeAfter: pw);
        rewriter.Replace(pw.Outputs[0]!, fused.Outputs[0]!);
    }
}
