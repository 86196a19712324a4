using System.Globalization;
using ModelBridge.Ir;

namespace ModelBridge.Shapes;

/// <remarks>Pad, Resize, Upsample, TopK, Compress, DepthToSpace/SpaceToDepth and OneHot: the rules that resize or re-lay out a tensor.</remarks>
public static partial class ShapeInference
{
    /// <summary>o = i + pad_begin + pad_end; pads is an attribute before opset 11, an input from 11, with axes from 18.</summary>
    private static void Pad(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        if (xd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        long[]? pads = c.Opset < 11 ? c.Ints("pads") ?? c.Ints("paddings") ?? c.Fail<long[]>("required attribute 'pads' is missing") : c.IntsOf(1);
        long[]? axes = c.Opset >= 18 && c.HasInput(3) ? c.IntsOf(3) : null;
        if (pads is null || (c.Opset >= 18 && c.HasInput(3) && axes is null))
        {
            c.Set(0, c.ElemOf(0), Enumerable.Repeat(Dim.Unknown, xd.Count));
            return;
        }
        int[] padded = axes is null ? [.. Enumerable.Range(0, xd.Count)] : [.. axes.Select(a => c.Axis(a, xd.Count))];
        if (pads.Length != 2 * padded.Length)
        {
            c.Fail($"pads {InferenceContext.Format(pads)} should have {2 * padded.Length} values for input {InferenceContext.Format(xd)}");
        }
        var dims = xd.ToArray();
        for (int k = 0; k < padded.Length; k++)
        {
            int i = padded[k];
            dims[i] = DimMath.Add(dims[i], Dim.Of(pads[k] + pads[k + padded.Length]));
            if (dims[i].Value < 0)
            {
                c.Fail($"pads {InferenceContext.Format(pads)} make axis {i} of {InferenceContext.Format(xd)} negative");
            }
        }
        c.Set(0, c.ElemOf(0), dims);
    }

    /// <summary>
    /// Resize by sizes (opset 11+, with axes and keep_aspect_ratio_policy from 18) or by scales
    /// (floor(i * scale)); the scales are input 1 at opset 10 and input 2 from 11.
    /// </summary>
    private static void Resize(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        DataType type = c.ElemOf(0);
        if (xd is null)
        {
            c.Set(0, type, null);
            return;
        }
        int rank = xd.Count;
        int[] axes = c.Opset >= 18 && c.Ints("axes") is { } a ? [.. a.Select(x => c.Axis(x, rank))] : [.. Enumerable.Range(0, rank)];
        int scalesAt = c.Opset < 11 ? 1 : 2;
        bool hasSizes = c.Opset >= 11 && c.HasInput(3) && !IsEmptyInput(c, 3);
        var dims = xd.ToArray();
        if (hasSizes)
        {
            IReadOnlyList<Dim>? sizes = c.ValueOf(3)?.Elements;
            if (sizes is null)
            {
                c.Set(0, type, Enumerable.Repeat(Dim.Unknown, rank));
                return;
            }
            if (sizes.Count != axes.Length)
            {
                c.Fail($"sizes {InferenceContext.Format(sizes)} have {sizes.Count} values for {axes.Length} axes");
            }
            string policy = c.Opset >= 18 ? c.Str("keep_aspect_ratio_policy", "stretch") : "stretch";
            if (policy == "stretch")
            {
                for (int k = 0; k < axes.Length; k++)
                {
                    dims[axes[k]] = sizes[k];
                }
            }
            else if (axes.All(i => xd[i].IsKnown) && sizes.All(s => s.IsKnown))
            {
                IEnumerable<double> ratios = axes.Select((i, k) => (double)sizes[k].Value!.Value / xd[i].Value!.Value);
                double scale = policy == "not_larger" ? ratios.Min() : policy == "not_smaller" ? ratios.Max()
                    : c.Fail<double>($"keep_aspect_ratio_policy '{policy}' is not stretch, not_larger or not_smaller");
                foreach (int i in axes)
                {
                    dims[i] = Dim.Of((long)Math.Round(scale * xd[i].Value!.Value, MidpointRounding.AwayFromZero));
                }
            }
            else
            {
                foreach (int i in axes)
                {
                    dims[i] = Dim.Unknown;
                }
            }
            c.Set(0, type, dims);
            return;
        }
        if (!c.HasInput(scalesAt))
        {
            c.Fail("neither scales nor sizes is given");
        }
        ApplyScales(c, dims, axes, c.FloatsOf(scalesAt));
        c.Set(0, type, dims);
    }

    /// <summary>Upsample (opset 7-9): scales attribute at 7-8, input 1 at 9.</summary>
    private static void Upsample(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        if (xd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        float[]? scales = c.Opset < 9 ? c.Node.GetFloats("scales") ?? c.Fail<float[]>("required attribute 'scales' is missing") : c.FloatsOf(1);
        var dims = xd.ToArray();
        ApplyScales(c, dims, [.. Enumerable.Range(0, xd.Count)], scales);
        c.Set(0, c.ElemOf(0), dims);
    }

    private static void ApplyScales(InferenceContext c, Dim[] dims, int[] axes, float[]? scales)
    {
        if (scales is null)
        {
            foreach (int i in axes)
            {
                dims[i] = Dim.Unknown;
            }
            return;
        }
        if (scales.Length != axes.Length)
        {
            c.Fail($"scales [{string.Join(",", scales.Select(s => s.ToString(CultureInfo.InvariantCulture)))}] have {scales.Length} values for {axes.Length} axes");
        }
        for (int k = 0; k < axes.Length; k++)
        {
            int i = axes[k];
            float scale = scales[k];
            if (scale <= 0)
            {
                c.Fail($"scale {scale.ToString(CultureInfo.InvariantCulture)} must be positive");
            }
            dims[i] = dims[i].Value is long n ? Dim.Of((long)MathF.Floor(n * scale)) : (scale == 1f ? dims[i] : Dim.Unknown);
        }
    }

    /// <summary>True when input <paramref name="i"/> is a tensor with zero elements (an "unused" scales or sizes).</summary>
    private static bool IsEmptyInput(InferenceContext c, int i) => c.DimsOf(i) is { } d && d.Any(x => x.Value == 0);

    /// <summary>Values and indices with the axis dimension replaced by k (attribute before opset 10, input from 10).</summary>
    private static void TopK(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        Dim k = c.Opset < 10 ? Dim.Of(c.Node.GetInt("k")) : (c.ScalarOf(1) is long v ? Dim.Of(v) : Dim.Unknown);
        if (xd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            c.Set(1, DataType.Int64, null);
            return;
        }
        int axis = c.Axis(c.Int("axis", -1), xd.Count);
        if (k.Value is long kv && xd[axis].Value is long d && kv > d)
        {
            c.Fail($"k = {kv} is larger than axis {axis} of {InferenceContext.Format(xd)}");
        }
        Dim[] dims = [.. xd.Select((x, i) => i == axis ? k : x)];
        c.Set(0, c.ElemOf(0), dims);
        c.Set(1, DataType.Int64, dims);
    }

    private static void Compress(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        if (!c.Node.HasAttribute("axis"))
        {
            c.Set(0, c.ElemOf(0), [Dim.Unknown]);
            return;
        }
        if (xd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        int axis = c.Axis(c.Int("axis", 0), xd.Count);
        c.Set(0, c.ElemOf(0), xd.Select((d, i) => i == axis ? Dim.Unknown : d));
    }

    /// <summary>DepthToSpace [N, C/b², H·b, W·b] and SpaceToDepth [N, C·b², H/b, W/b].</summary>
    private static void SpaceDepth(InferenceContext c, bool toSpace)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        long b = c.Node.GetInt("blocksize");
        if (xd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        if (xd.Count != 4 || b < 1)
        {
            c.Fail($"needs a 4-D input and a positive blocksize, got {InferenceContext.Format(xd)} and {b}");
        }
        // Checked: a huge blocksize must not wrap b * b to 0 (the run reports the overflow against the node).
        long square = checked(b * b);
        Dim Scale(Dim d, long up, long down) => d.Value is long v ? (checked(v * up) % down == 0 ? Dim.Of(v * up / down) : c.Fail<Dim>($"{v} does not divide by {down}")) : Dim.Unknown;
        c.Set(0, c.ElemOf(0), toSpace
            ? [xd[0], Scale(xd[1], 1, square), Scale(xd[2], b, 1), Scale(xd[3], b, 1)]
            : [xd[0], Scale(xd[1], square, 1), Scale(xd[2], 1, b), Scale(xd[3], 1, b)]);
    }

    /// <summary>indices' shape with the depth inserted at axis; output type is that of values.</summary>
    private static void OneHot(InferenceContext c)
    {
        IReadOnlyList<Dim>? id = c.DimsOf(0);
        if (id is null)
        {
            c.Set(0, c.ElemOf(2), null);
            return;
        }
        int rank = id.Count + 1;
        int axis = c.Axis(c.Int("axis", -1), rank);
        Dim depth = c.FloatsOf(1) is [float f] ? Dim.Of((long)f) : Dim.Unknown;
        var dims = id.ToList();
        dims.Insert(axis, depth);
        c.Set(0, c.ElemOf(2), dims);
    }
}
