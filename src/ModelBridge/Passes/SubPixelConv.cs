using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>How the C_out·s_h·s_w phase channels become the s_h×s_w larger image.</summary>
internal enum ShuffleKind
{
    /// <summary>Strides 1: the phase convolution is the result.</summary>
    None,

    /// <summary>DepthToSpace, mode DCR: channel (i·s + j)·C_out + c.</summary>
    DepthToSpaceDcr,

    /// <summary>DepthToSpace, mode CRD: channel c·s² + i·s + j.</summary>
    DepthToSpaceCrd,

    /// <summary>Rank-4 Reshape/Transpose, channel (c·s_h + i)·s_w + j.</summary>
    ReshapeTranspose,
}

/// <summary>
/// A 2-D ConvTranspose rewritten as a convolution with one sub-kernel per output phase, a pixel
/// shuffle, and a crop: what <see cref="LowerConvTransposeToDepthToSpace"/> and
/// <see cref="LowerConvTransposeToSubPixelConv"/> share.
/// </summary>
/// <remarks>
/// <para>
/// Per spatial axis, with input length H, kernel K, stride s, dilation d, pads p_b/p_e and
/// output_padding a (spec, ConvTranspose-11): the uncropped output is
/// u[t] = Σ_{i,k : t = i·s + k·d} x[i]·w[k], and y[o] = u[o + p_b] + bias for
/// o &lt; s·(H − 1) + a + (K − 1)·d + 1 − p_b − p_e. Write t = q·s + r with phase r ∈ [0, s) and tap k
/// as k·d = m·s + r (m = ⌊k·d / s⌋, r = k·d mod s, unique for each k). Then
/// u[q·s + r] = Σ_m x[q − m]·w[k(m, r)]: for each phase, a cross-correlation of x with the
/// flipped sub-kernel v_r[j] = w[k] where k·d = (M − 1 − j)·s + r (0 where no tap lands),
/// M = ⌊(K − 1)·d / s⌋ + 1 taps. A Conv with M taps, begin pad M − 1 − q0 (q0 = min(⌊p_b / s⌋, M − 1)
/// phases skipped at the start) and end pad max(0, ⌈(a + (K − 1)·d + 1 − p_e) / s⌉ − 1) computes
/// every phase, the pixel shuffle interleaves them, and a Slice keeps [p_b − q0·s, end − trim) with
/// trim = (end pad + 1)·s − a − (K − 1)·d − 1 + p_e. Neither the start nor the trim depends on H,
/// so the rewrite needs no static spatial size unless the shuffle is spelled with Reshape.
/// </para>
/// <para>
/// Channels: ConvTranspose weight [C_in, C_out/G, K_h, K_w] maps input channel ci of group
/// g = ci / (C_in/G) to output channel c = g·C_out/G + j. The Conv weight is
/// [C_out·s_h·s_w, C_in/G, M_h, M_w] with output channel (c, r_h, r_w) placed where the shuffle reads
/// it (<see cref="ShuffleKind"/>); the bias is b[c] repeated for every phase. With G &gt; 1 the CRD
/// order keeps each group's output channels contiguous, so the Conv keeps group G.
/// </para>
/// </remarks>
internal sealed record SubPixelConv(
    Node Node,
    Tensor Weight,
    float[]? Bias,
    long Group,
    long[] Kernel,
    long[] Strides,
    long[] Dilations,
    long[] Taps,
    long[] ConvPads,
    long[] SliceStart,
    long[] SliceTrim,
    ShuffleKind Shuffle,
    long[]? InputDims)
{
    /// <summary>C_out.</summary>
    public long OutChannels => Weight.Dims[1] * Group;

    /// <summary>True when the rewrite ends with a Slice.</summary>
    public bool NeedsSlice => SliceStart.Any(s => s != 0) || SliceTrim.Any(t => t != 0);

    /// <summary>Reads a ConvTranspose and plans its sub-pixel form, or says why it cannot.</summary>
    public static (SubPixelConv? Plan, string? Reason) TryPlan(IReadOnlyGraph graph, Node node, PixelShuffleForms forms)
    {
        if (node.Outputs.Count != 1 || node.Output(0) is null)
        {
            return (null, "it has more than one output");
        }
        if (Constants.Of(node.Input(1)) is not { DataType: DataType.Float } w)
        {
            return (null, "the weight is not a constant float tensor");
        }
        if (w.Dims.Length != 4)
        {
            return (null, $"weight {w} is not 4-D: only 2-D ConvTranspose is lowered (DepthToSpace and Conv here are 2-D)");
        }
        if (w.ElementCount == 0)
        {
            return (null, $"weight {w} is empty");
        }
        float[]? bias = null;
        if (node.Input(2) is { } b && (bias = Patterns.ConstFloats(b)) is null)
        {
            return (null, "the bias is not a constant float tensor");
        }
        if (graph.Shapes.ElementTypeOf(node.Input(0)) is { } t && t != DataType.Float)
        {
            return (null, $"the input is {DataTypes.OnnxName(t)}, not float");
        }
        string autoPad = node.GetString("auto_pad", "NOTSET")!;
        if (autoPad != "NOTSET")
        {
            return (null, $"auto_pad={autoPad}: lower-auto-pad makes the pads explicit first where that is exact");
        }
        if (node.HasAttribute("output_shape"))
        {
            return (null, "output_shape is set: the spec and ONNX Runtime put an odd total padding on different sides, so no explicit crop is exact against both");
        }
        long group = node.GetInt("group", 1);
        long cin = w.Dims[0];
        if (group < 1 || cin % group != 0)
        {
            return (null, $"group={group} does not divide the weight's {cin} input channels");
        }
        if (graph.Shapes.StaticDimsOf(node.Input(0)) is { } inDims && (inDims.Length != 4 || inDims[1] != cin))
        {
            return (null, $"the input [{string.Join(',', inDims)}] does not match weight {w}");
        }
        if (bias is not null && bias.Length != w.Dims[1] * group)
        {
            return (null, $"the bias has {bias.Length} values for {w.Dims[1] * group} output channels");
        }
        long[] kernel = [w.Dims[2], w.Dims[3]];
        if (node.GetInts("kernel_shape") is { } ks && !ks.SequenceEqual(kernel))
        {
            return (null, $"kernel_shape=[{string.Join(',', ks)}] disagrees with weight {w}");
        }
        long[] strides = node.GetInts("strides") ?? [1, 1];
        long[] dilations = node.GetInts("dilations") ?? [1, 1];
        long[] pads = node.GetInts("pads") ?? [0, 0, 0, 0];
        long[] outputPadding = node.GetInts("output_padding") ?? [0, 0];
        if (strides.Length != 2 || dilations.Length != 2 || pads.Length != 4 || outputPadding.Length != 2)
        {
            return (null, "strides, dilations, pads or output_padding do not fit a 2-D kernel");
        }
        if (strides.Any(s => s < 1) || dilations.Any(d => d < 1) || pads.Any(p => p < 0) || outputPadding.Any(a => a < 0))
        {
            return (null, "a stride or dilation below 1, or a negative pad or output_padding");
        }
        for (int i = 0; i < 2; i++)
        {
            if (outputPadding[i] >= strides[i])
            {
                // The spec allows up to the dilation; ONNX Runtime refuses it at run time (the output size no longer determines the input's).
                return (null, $"output_padding={outputPadding[i]} on spatial axis {i} is not below the stride {strides[i]}, which ONNX Runtime refuses");
            }
        }
        long opset = graph.OpsetVersion("") ?? 13;
        long[]? staticInput = graph.Shapes.StaticDimsOf(node.Input(0));
        var (shuffle, why) = ChooseShuffle(strides, group, opset, forms, staticInput);
        if (why is not null)
        {
            return (null, why);
        }
        var taps = new long[2];
        var convPads = new long[4];
        var sliceStart = new long[2];
        var sliceTrim = new long[2];
        for (int i = 0; i < 2; i++)
        {
            long s = strides[i], d = dilations[i], effective = (kernel[i] - 1) * d + 1;
            taps[i] = (kernel[i] - 1) * d / s + 1;
            long q0 = Math.Min(pads[i] / s, taps[i] - 1);
            long padEnd = Math.Max(0, CeilDiv(outputPadding[i] + effective - pads[i + 2], s) - 1);
            convPads[i] = taps[i] - 1 - q0;
            convPads[i + 2] = padEnd;
            sliceStart[i] = pads[i] - q0 * s;
            sliceTrim[i] = (padEnd + 1) * s - outputPadding[i] - effective + pads[i + 2];
            if (staticInput is { } dims && s * (dims[2 + i] - 1) + outputPadding[i] + effective - pads[i] - pads[i + 2] < 1)
            {
                return (null, $"the pads leave no output on spatial axis {i}");
            }
        }
        return (new SubPixelConv(node, w, bias, group, kernel, strides, dilations, taps, convPads, sliceStart, sliceTrim, shuffle, staticInput), null);
    }

    private static (ShuffleKind Kind, string? Reason) ChooseShuffle(long[] strides, long group, long opset, PixelShuffleForms forms, long[]? input)
    {
        if (strides[0] == 1 && strides[1] == 1)
        {
            return (ShuffleKind.None, null);
        }
        if (strides[0] == strides[1])
        {
            foreach (string mode in forms.DepthToSpaceModes)
            {
                // DepthToSpace has a mode only from opset 11; before that it is DCR.
                if (mode == "DCR" && group == 1)
                {
                    return (ShuffleKind.DepthToSpaceDcr, null);
                }
                if (mode == "CRD" && opset >= 11)
                {
                    return (ShuffleKind.DepthToSpaceCrd, null);
                }
            }
        }
        string depthToSpace = strides[0] != strides[1]
            ? $"strides {strides[0]}x{strides[1]} differ, which DepthToSpace cannot interleave"
            : forms.DepthToSpaceModes.Count == 0
                ? "the target has no DepthToSpace"
                : group > 1
                    ? $"group={group} needs DepthToSpace mode CRD (each group's channels contiguous), which {(opset < 11 ? $"opset {opset} lacks" : "the target refuses")}"
                    : $"DepthToSpace mode {string.Join("/", forms.DepthToSpaceModes)} is not available at opset {opset}";
        if (!forms.ReshapeTranspose)
        {
            return (default, $"{depthToSpace}, and the target has no rank-4 Reshape/Transpose to spell the interleave");
        }
        if (opset < 5)
        {
            return (default, $"{depthToSpace}, and Reshape before opset 5 takes no shape input");
        }
        if (input is null)
        {
            return (default, $"{depthToSpace}, and the Reshape/Transpose form needs a static input shape (pin the symbolic dims)");
        }
        return (ShuffleKind.ReshapeTranspose, null);
    }

    private static long CeilDiv(long a, long b) => a >= 0 ? (a + b - 1) / b : -(-a / b);

    /// <summary>The Conv's output channel for ConvTranspose output channel <paramref name="c"/> at phase (rh, rw).</summary>
    private long PhaseChannel(long c, long rh, long rw) => Shuffle == ShuffleKind.DepthToSpaceDcr
        ? ((rh * Strides[1]) + rw) * OutChannels + c
        : ((c * Strides[0]) + rh) * Strides[1] + rw;

    /// <summary>The phase-convolution weight [C_out·s_h·s_w, C_in/G, M_h, M_w] and bias.</summary>
    public (Tensor Weight, Tensor? Bias) PhaseWeights()
    {
        long cin = Weight.Dims[0], coutPerGroup = Weight.Dims[1], kh = Kernel[0], kw = Kernel[1];
        long cinPerGroup = cin / Group, phases = Strides[0] * Strides[1], outC = OutChannels * phases;
        long mh = Taps[0], mw = Taps[1];
        ReadOnlySpan<float> w = Weight.AsSpan<float>();
        var result = new float[outC * cinPerGroup * mh * mw];
        for (long ci = 0; ci < cin; ci++)
        {
            long g = ci / cinPerGroup, local = ci % cinPerGroup;
            for (long j = 0; j < coutPerGroup; j++)
            {
                long c = g * coutPerGroup + j;
                for (long y = 0; y < kh; y++)
                {
                    long ty = y * Dilations[0], rh = ty % Strides[0], jh = mh - 1 - (ty / Strides[0]);
                    for (long x = 0; x < kw; x++)
                    {
                        long tx = x * Dilations[1], rw = tx % Strides[1], jw = mw - 1 - (tx / Strides[1]);
                        long o = PhaseChannel(c, rh, rw);
                        result[((o * cinPerGroup + local) * mh + jh) * mw + jw] = w[(int)(((ci * coutPerGroup + j) * kh + y) * kw + x)];
                    }
                }
            }
        }
        Tensor? bias = null;
        if (Bias is { } b)
        {
            var pb = new float[outC];
            for (long c = 0; c < OutChannels; c++)
            {
                for (long rh = 0; rh < Strides[0]; rh++)
                {
                    for (long rw = 0; rw < Strides[1]; rw++)
                    {
                        pb[PhaseChannel(c, rh, rw)] = b[c];
                    }
                }
            }
            bias = Tensor.Create<float>([outC], pb);
        }
        return (Tensor.Create<float>([outC, cinPerGroup, mh, mw], result), bias);
    }

    /// <summary>Emits the phase Conv, the shuffle and the crop, and replaces the ConvTranspose's output.</summary>
    public void Emit(GraphRewriter rewriter)
    {
        Node ct = Node;
        Value x = ct.Inputs[0]!;
        Value y = ct.Outputs[0]!;
        var (weight, bias) = PhaseWeights();
        Value wv = rewriter.CreateInitializer("weight", weight);
        Value? bv = bias is null ? null : rewriter.CreateInitializer("bias", bias);
        var attrs = new List<AttributeValue> { Attr.Ints("kernel_shape", Taps), Attr.Ints("pads", ConvPads) };
        if (Group != 1)
        {
            attrs.Add(Attr.Int("group", Group));
        }
        Node conv = rewriter.CreateNode("Conv", bv is null ? [x, wv] : [x, wv, bv], "phases", attributes: attrs, derivedFrom: [x], placeAfter: ct);
        Value current = conv.Outputs[0]!;
        current = Shuffle switch
        {
            ShuffleKind.DepthToSpaceDcr or ShuffleKind.DepthToSpaceCrd => DepthToSpace(rewriter, current, x),
            ShuffleKind.ReshapeTranspose => ReshapeTransposeShuffle(rewriter, current, x),
            _ => current,
        };
        if (NeedsSlice)
        {
            current = Crop(rewriter, current, x);
        }
        rewriter.Replace(y, current);
        rewriter.EraseIfUnused([ct]);
    }

    private Value DepthToSpace(GraphRewriter rewriter, Value input, Value x)
    {
        var attrs = new List<AttributeValue> { Attr.Int("blocksize", Strides[0]) };
        if ((rewriter.Graph.OpsetVersion("") ?? 13) >= 11)
        {
            attrs.Add(Attr.String("mode", Shuffle == ShuffleKind.DepthToSpaceCrd ? "CRD" : "DCR"));
        }
        return rewriter.CreateNode("DepthToSpace", [input], "depth_to_space", attributes: attrs, derivedFrom: [x], placeAfter: Node).Outputs[0]!;
    }

    /// <summary>The CRD interleave in rank 4: width first (channel (c·s_h + i)·s_w + j → c·s_h + i), then height.</summary>
    private Value ReshapeTransposeShuffle(GraphRewriter rewriter, Value input, Value x)
    {
        long[] dims = InputDims!;
        long n = dims[0], sh = Strides[0], sw = Strides[1], c = OutChannels;
        long qh = dims[2] + ConvPads[0] + ConvPads[2] - Taps[0] + 1;
        long qw = dims[3] + ConvPads[1] + ConvPads[3] - Taps[1] + 1;
        Value current = input;
        if (sw > 1)
        {
            current = Reshape(rewriter, current, x, "width_split", [n, c * sh, sw, qh * qw]);
            current = Transpose(rewriter, current, x, "width_interleave", [0, 1, 3, 2]);
            current = Reshape(rewriter, current, x, "width_merge", [n, c * sh, qh, qw * sw]);
        }
        if (sh > 1)
        {
            current = Reshape(rewriter, current, x, "height_split", [n * c, sh, qh, qw * sw]);
            current = Transpose(rewriter, current, x, "height_interleave", [0, 2, 1, 3]);
            current = Reshape(rewriter, current, x, "height_merge", [n, c, qh * sh, qw * sw]);
        }
        return current;
    }

    private Value Reshape(GraphRewriter rewriter, Value input, Value x, string role, long[] shape)
    {
        Value s = rewriter.CreateInitializer(role + "_shape", Tensor.Create<long>([shape.Length], shape));
        return rewriter.CreateNode("Reshape", [input, s], role, derivedFrom: [x], placeAfter: Node).Outputs[0]!;
    }

    private Value Transpose(GraphRewriter rewriter, Value input, Value x, string role, long[] perm) =>
        rewriter.CreateNode("Transpose", [input], role, attributes: [Attr.Ints("perm", perm)], derivedFrom: [x], placeAfter: Node).Outputs[0]!;

    /// <summary>Slice to the pads/output_padding window: starts from the begin, ends counted from the end.</summary>
    private Value Crop(GraphRewriter rewriter, Value input, Value x)
    {
        var axes = new List<long>();
        var starts = new List<long>();
        var ends = new List<long>();
        for (int i = 0; i < 2; i++)
        {
            if (SliceStart[i] == 0 && SliceTrim[i] == 0)
            {
                continue;
            }
            axes.Add(2 + i);
            starts.Add(SliceStart[i]);
            // A negative end counts from the end of the axis; long.MaxValue clamps to its length (spec).
            ends.Add(SliceTrim[i] > 0 ? -SliceTrim[i] : long.MaxValue);
        }
        if ((rewriter.Graph.OpsetVersion("") ?? 13) < 10)
        {
            // Slice-1 takes starts, ends and axes as attributes.
            return rewriter.CreateNode("Slice", [input], "crop",
                attributes: [Attr.Ints("starts", [.. starts]), Attr.Ints("ends", [.. ends]), Attr.Ints("axes", [.. axes])],
                derivedFrom: [x], placeAfter: Node).Outputs[0]!;
        }
        Value sv = rewriter.CreateInitializer("crop_starts", Tensor.Create<long>([starts.Count], starts.ToArray()));
        Value ev = rewriter.CreateInitializer("crop_ends", Tensor.Create<long>([ends.Count], ends.ToArray()));
        Value av = rewriter.CreateInitializer("crop_axes", Tensor.Create<long>([axes.Count], axes.ToArray()));
        return rewriter.CreateNode("Slice", [input, sv, ev, av], "crop", derivedFrom: [x], placeAfter: Node).Outputs[0]!;
    }
}
