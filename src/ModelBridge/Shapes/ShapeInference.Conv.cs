using ModelBridge.Ir;

namespace ModelBridge.Shapes;

public static partial class ShapeInference
{
    private static void RegisterConv(Dictionary<string, Action<InferenceContext>> rules)
    {
        rules["Conv"] = c => Conv(c, x: 0, w: 1, c.ElemOf(0));
        rules["ConvInteger"] = c => Conv(c, x: 0, w: 1, DataType.Int32);
        rules["QLinearConv"] = c => Conv(c, x: 0, w: 3, c.HasInput(7) ? c.ElemOf(7) : DataType.UInt8);
        rules["ConvTranspose"] = ConvTranspose;
        rules["MaxPool"] = c =>
        {
            Pool(c, dilated: c.Opset >= 10, ceilMode: c.Opset >= 10);
            if (c.Inferred[0] is { } y)
            {
                c.Set(1, DataType.Int64, y.Shape?.Dims);
            }
        };
        rules["AveragePool"] = c => Pool(c, dilated: c.Opset >= 19, ceilMode: c.Opset >= 10);
        rules["LpPool"] = c => Pool(c, dilated: c.Opset >= 18, ceilMode: c.Opset >= 18);
        rules["GlobalAveragePool"] = GlobalPool;
        rules["GlobalMaxPool"] = GlobalPool;
        rules["GlobalLpPool"] = GlobalPool;
        rules["MaxUnpool"] = MaxUnpool;
        rules["BatchNormalization"] = BatchNormalization;
        rules["GridSample"] = c =>
        {
            // X [N, C, D1..Dr], grid [N, O1..Or, r] give [N, C, O1..Or].
            IReadOnlyList<Dim>? xd = c.DimsOf(0);
            IReadOnlyList<Dim>? gd = c.DimsOf(1);
            c.Set(0, c.ElemOf(0), xd is null || gd is null || gd.Count < 2 ? null : [xd[0], xd[1], .. gd.Skip(1).Take(gd.Count - 2)]);
        };
        rules["RoiAlign"] = c =>
        {
            Dim channels = c.DimsOf(0) is { Count: 4 } xd ? xd[1] : Dim.Unknown;
            Dim rois = c.DimsOf(1) is [var r, _] ? r : Dim.Unknown;
            c.Set(0, c.ElemOf(0), [rois, channels, Dim.Of(c.Int("output_height", 1)), Dim.Of(c.Int("output_width", 1))]);
        };
        rules["LayerNormalization"] = LayerNormalization;
    }

    /// <summary>Y[N, M, o...] with o = floor((i + pad_begin + pad_end - ((k - 1) * d + 1)) / s) + 1.</summary>
    private static void Conv(InferenceContext c, int x, int w, DataType outType)
    {
        c.Require(x);
        c.Require(w);
        IReadOnlyList<Dim>? xd = c.DimsOf(x);
        IReadOnlyList<Dim>? wd = c.DimsOf(w);
        long group = c.Int("group", 1);
        if (group < 1)
        {
            c.Fail($"group {group} must be positive");
        }
        if (xd is null)
        {
            c.Set(0, outType, null);
            return;
        }
        if (xd.Count < 3)
        {
            c.Fail($"input X has rank {xd.Count}; Conv needs [N, C, D1, ...]");
        }
        if (wd is not null && wd.Count != xd.Count)
        {
            c.Fail($"weight rank {wd.Count} differs from input rank {xd.Count}");
        }
        if (wd is not null && xd[1].Value is long ch && wd[1].Value is long wc && ch != wc * group)
        {
            c.Fail($"input has {ch} channels but weight expects {wc} x group {group}");
        }
        int spatial = xd.Count - 2;
        long[]? kernel = CheckKernel(c, c.Ints("kernel_shape") ?? (wd is null ? null : KnownTail(wd, 2)), spatial);
        var window = WindowAttributes.Read(c, spatial, dilated: true);
        var dims = new List<Dim> { xd[0], wd?[0] ?? Dim.Unknown };
        for (int i = 0; i < spatial; i++)
        {
            dims.Add(kernel is null ? Dim.Unknown : window.OutputSize(c, i, xd[i + 2], kernel[i], ceilMode: false));
        }
        c.Set(0, outType, dims);
    }

    /// <summary>
    /// Y[N, W[1] * group, o...] with o = s * (i - 1) + output_padding + ((k - 1) * d + 1) - pad_begin - pad_end,
    /// or output_shape when given, or i * s for SAME_UPPER/SAME_LOWER.
    /// </summary>
    private static void ConvTranspose(InferenceContext c)
    {
        c.Require(0);
        c.Require(1);
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        IReadOnlyList<Dim>? wd = c.DimsOf(1);
        long group = c.Int("group", 1);
        if (xd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        if (xd.Count < 3)
        {
            c.Fail($"input X has rank {xd.Count}; ConvTranspose needs [N, C, D1, ...]");
        }
        if (wd is not null && wd.Count != xd.Count)
        {
            c.Fail($"weight rank {wd.Count} differs from input rank {xd.Count}");
        }
        if (wd is not null && xd[1].Value is long ch && wd[0].Value is long wc && ch != wc)
        {
            c.Fail($"input has {ch} channels but weight has {wc}");
        }
        int spatial = xd.Count - 2;
        long[]? kernel = CheckKernel(c, c.Ints("kernel_shape") ?? (wd is null ? null : KnownTail(wd, 2)), spatial);
        var window = WindowAttributes.Read(c, spatial, dilated: true);
        long[] outputPadding = c.Ints("output_padding") ?? new long[spatial];
        long[]? outputShape = c.Ints("output_shape");
        if (outputPadding.Length != spatial)
        {
            c.Fail($"output_padding has {outputPadding.Length} values for {spatial} spatial axes");
        }
        if (outputShape is not null && outputShape.Length != spatial && outputShape.Length != xd.Count)
        {
            c.Fail($"output_shape has {outputShape.Length} values for {spatial} spatial axes");
        }
        var dims = new List<Dim> { xd[0], DimMath.Mul(wd?[1] ?? Dim.Unknown, Dim.Of(group)) };
        for (int i = 0; i < spatial; i++)
        {
            if (outputShape is not null)
            {
                dims.Add(Dim.Of(outputShape[outputShape.Length - spatial + i]));
                continue;
            }
            if (xd[i + 2].Value is not long input || kernel is null)
            {
                dims.Add(Dim.Unknown);
                continue;
            }
            if (window.AutoPad is "SAME_UPPER" or "SAME_LOWER")
            {
                dims.Add(Dim.Of(input * window.Strides[i]));
                continue;
            }
            long effective = (kernel[i] - 1) * window.Dilations[i] + 1;
            long pads = window.AutoPad == "VALID" ? 0 : window.Pads[i] + window.Pads[i + spatial];
            dims.Add(Dim.Of(window.Strides[i] * (input - 1) + outputPadding[i] + effective - pads));
        }
        c.Set(0, c.ElemOf(0), dims);
    }

    private static void Pool(InferenceContext c, bool dilated, bool ceilMode)
    {
        c.Require(0);
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        long[] kernel = c.Ints("kernel_shape") ?? c.Fail<long[]>("required attribute 'kernel_shape' is missing");
        if (xd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        int spatial = xd.Count - 2;
        if (spatial < 1 || kernel.Length != spatial)
        {
            c.Fail($"kernel_shape {InferenceContext.Format(kernel)} does not fit input {InferenceContext.Format(xd)}");
        }
        var window = WindowAttributes.Read(c, spatial, dilated);
        bool ceil = ceilMode && c.Int("ceil_mode", 0) != 0;
        var dims = new List<Dim> { xd[0], xd[1] };
        for (int i = 0; i < spatial; i++)
        {
            dims.Add(window.OutputSize(c, i, xd[i + 2], kernel[i], ceil));
        }
        c.Set(0, c.ElemOf(0), dims);
    }

    private static void GlobalPool(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        if (xd is not null && xd.Count < 2)
        {
            c.Fail($"input has rank {xd.Count}; global pooling needs [N, C, ...]");
        }
        c.Set(0, c.ElemOf(0), xd?.Select((d, i) => i < 2 ? d : Dim.Of(1)));
    }

    /// <summary>output_shape input when given, else o = (i - 1) * s + k - pad_begin - pad_end.</summary>
    private static void MaxUnpool(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        if (c.HasInput(2))
        {
            c.Set(0, c.ElemOf(0), c.ValueOf(2)?.Elements);
            return;
        }
        long[] kernel = c.Ints("kernel_shape") ?? c.Fail<long[]>("required attribute 'kernel_shape' is missing");
        if (xd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        int spatial = xd.Count - 2;
        CheckKernel(c, kernel, spatial);
        var window = WindowAttributes.Read(c, spatial, dilated: false);
        var dims = new List<Dim> { xd[0], xd[1] };
        for (int i = 0; i < spatial; i++)
        {
            dims.Add(xd[i + 2].Value is long n
                ? Dim.Of((n - 1) * window.Strides[i] + kernel[i] - window.Pads[i] - window.Pads[i + spatial])
                : Dim.Unknown);
        }
        c.Set(0, c.ElemOf(0), dims);
    }

    /// <summary>Y like X; the optional statistics outputs (training mode) are [C].</summary>
    private static void BatchNormalization(InferenceContext c)
    {
        c.SameAs(0, 0);
        Dim channels = c.DimsOf(0) is { Count: >= 2 } xd ? xd[1] : Dim.Unknown;
        DataType statType = c.HasInput(3) ? c.ElemOf(3) : c.ElemOf(0);
        for (int i = 1; i < c.OutputCount; i++)
        {
            c.Set(i, statType, [channels]);
        }
    }

    /// <summary>Y like X; Mean and InvStdDev keep the dims before <c>axis</c> and are 1 after it.</summary>
    private static void LayerNormalization(InferenceContext c)
    {
        c.SameAs(0, 0);
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        var stash = (DataType)c.Int("stash_type", (long)DataType.Float);
        if (xd is null)
        {
            c.Set(1, stash, null);
            c.Set(2, stash, null);
            return;
        }
        int axis = c.Axis(c.Int("axis", -1), xd.Count);
        Dim[] stats = [.. xd.Select((d, i) => i < axis ? d : Dim.Of(1))];
        c.Set(1, stash, stats);
        c.Set(2, stash, stats);
    }

    /// <summary>A kernel must have one positive size per spatial axis.</summary>
    private static long[]? CheckKernel(InferenceContext c, long[]? kernel, int spatial)
    {
        if (kernel is not null && (kernel.Length != spatial || kernel.Any(k => k < 1)))
        {
            c.Fail($"kernel_shape {InferenceContext.Format(kernel)} does not give one positive size for each of {spatial} spatial axes");
        }
        return kernel;
    }

    /// <summary>The sizes of <paramref name="dims"/> from <paramref name="start"/>, or null when one is not known.</summary>
    private static long[]? KnownTail(IReadOnlyList<Dim> dims, int start)
    {
        var result = new long[dims.Count - start];
        for (int i = start; i < dims.Count; i++)
        {
            if (dims[i].Value is not long v)
            {
                return null;
            }
            result[i - start] = v;
        }
        return result;
    }

    /// <summary>strides, dilations, pads and auto_pad of a sliding-window operator.</summary>
    private sealed record WindowAttributes(string AutoPad, long[] Strides, long[] Dilations, long[] Pads)
    {
        public static WindowAttributes Read(InferenceContext c, int spatial, bool dilated)
        {
            if (spatial < 1)
            {
                c.Fail($"input has {spatial + 2} dimensions; a sliding window needs [N, C, D1, ...]");
            }
            string autoPad = c.Str("auto_pad", "NOTSET");
            if (autoPad is not ("NOTSET" or "SAME_UPPER" or "SAME_LOWER" or "VALID"))
            {
                c.Fail($"auto_pad '{autoPad}' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID");
            }
            long[] strides = c.Ints("strides") ?? Ones(spatial);
            long[] dilations = (dilated ? c.Ints("dilations") : null) ?? Ones(spatial);
            long[] pads = c.Ints("pads") ?? new long[2 * spatial];
            if (strides.Length != spatial || dilations.Length != spatial || pads.Length != 2 * spatial)
            {
                c.Fail($"strides {InferenceContext.Format(strides)}, dilations {InferenceContext.Format(dilations)} or pads {InferenceContext.Format(pads)} do not fit {spatial} spatial axes");
            }
            if (strides.Any(s => s < 1) || dilations.Any(d => d < 1))
            {
                c.Fail("strides and dilations must be positive");
            }
            return new WindowAttributes(autoPad, strides, dilations, pads);
        }

        private static long[] Ones(int n) => Enumerable.Repeat(1L, n).ToArray();

        /// <summary>
        /// Output size along spatial axis <paramref name="i"/>: NOTSET uses the explicit pads with
        /// floor (or ceil, where the last window must still start inside the input or left padding);
        /// VALID pads nothing; SAME_UPPER/SAME_LOWER give ceil(i / s).
        /// </summary>
        public Dim OutputSize(InferenceContext c, int i, Dim inputDim, long kernel, bool ceilMode)
        {
            if (inputDim.Value is not long input)
            {
                return Dim.Unknown;
            }
            long stride = Strides[i];
            long effective = (kernel - 1) * Dilations[i] + 1;
            switch (AutoPad)
            {
                case "SAME_UPPER" or "SAME_LOWER":
                    return Dim.Of(DimMath.CeilDiv(input, stride));
                case "VALID":
                    return Dim.Of(Math.Max(0, DimMath.FloorDiv(input - effective, stride) + 1));
            }
            long padBegin = Pads[i];
            long padded = input + padBegin + Pads[i + Pads.Length / 2];
            if (padded < effective)
            {
                c.Fail($"the window ({effective}) is larger than the padded input ({padded}) on spatial axis {i}");
            }
            long span = padded - effective;
            long output = (ceilMode ? DimMath.CeilDiv(span, stride) : DimMath.FloorDiv(span, stride)) + 1;
            if (ceilMode && (output - 1) * stride >= input + padBegin)
            {
                output--;
            }
            return Dim.Of(output);
        }
    }
}
