using System.Globalization;
using ModelBridge.Ir;

namespace ModelBridge.Shapes;

public static partial class ShapeInference
{
    private static void RegisterTensor(Dictionary<string, Action<InferenceContext>> rules)
    {
        rules["Reshape"] = Reshape;
        rules["Flatten"] = Flatten;
        rules["Transpose"] = Transpose;
        rules["Squeeze"] = Squeeze;
        rules["Unsqueeze"] = Unsqueeze;
        rules["Concat"] = Concat;
        rules["Split"] = Split;
        rules["Slice"] = Slice;
        rules["Gather"] = Gather;
        rules["GatherElements"] = c => c.Set(0, c.ElemOf(0), c.DimsOf(1));
        rules["GatherND"] = GatherND;
        rules["Shape"] = Shape;
        rules["Size"] = c => c.SetValue(0, DataType.Int64, ShapeValue.Scalar(c.DimsOf(0) is { } d ? DimMath.Product(d) : Dim.Unknown));
        rules["Expand"] = Expand;
        rules["Tile"] = Tile;
        rules["Pad"] = Pad;
        rules["Resize"] = Resize;
        rules["Upsample"] = Upsample;
        rules["TopK"] = TopK;
        rules["NonMaxSuppression"] = c => c.Set(0, DataType.Int64, [Dim.Unknown, Dim.Of(3)]);
        rules["NonZero"] = c => c.Set(0, DataType.Int64, [c.RankOf(0) is int r ? Dim.Of(r) : Dim.Unknown, Dim.Unknown]);
        rules["Compress"] = Compress;
        rules["DepthToSpace"] = c => SpaceDepth(c, toSpace: true);
        rules["SpaceToDepth"] = c => SpaceDepth(c, toSpace: false);
        rules["OneHot"] = OneHot;
        rules["EyeLike"] = c => c.Set(0, c.Node.HasAttribute("dtype") ? (DataType)c.Int("dtype", 1) : c.ElemOf(0), c.DimsOf(0));
    }

    /// <summary>
    /// Reshape to the shape input (the <c>shape</c> attribute before opset 5): 0 copies the input
    /// dimension (unless allowzero, opset 14), -1 takes what is left of the element count.
    /// </summary>
    private static void Reshape(InferenceContext c)
    {
        c.Require(0);
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        IReadOnlyList<Dim>? target = c.Opset < 5 && c.Ints("shape") is { } attr
            ? InferenceContext.Known(attr)
            : c.ValueOf(1)?.Elements;
        if (target is null)
        {
            IReadOnlyList<Dim>? sd = c.DimsOf(1);
            c.Set(0, c.ElemOf(0), sd is [{ Value: long n }] ? InferenceContext.UnknownDims(n) : null);
            return;
        }
        bool allowZero = c.Opset >= 14 && c.Int("allowzero", 0) != 0;
        var dims = new Dim[target.Count];
        int inferAt = -1;
        for (int i = 0; i < target.Count; i++)
        {
            Dim t = target[i];
            switch (t.Value)
            {
                case -1:
                    if (inferAt >= 0)
                    {
                        c.Fail($"shape {InferenceContext.Format(target)} has more than one -1");
                    }
                    inferAt = i;
                    break;
                case 0 when !allowZero:
                    if (xd is not null && i >= xd.Count)
                    {
                        c.Fail($"shape {InferenceContext.Format(target)} copies dimension {i} (0) but the input {InferenceContext.Format(xd)} has rank {xd.Count}");
                    }
                    dims[i] = xd?[i] ?? Dim.Unknown;
                    break;
                case < -1:
                    c.Fail($"shape {InferenceContext.Format(target)} has an invalid value {t}");
                    break;
                default:
                    dims[i] = t;
                    break;
            }
        }
        if (inferAt >= 0)
        {
            dims[inferAt] = xd is null ? Dim.Unknown : Remaining(c, xd, dims.Where((_, i) => i != inferAt), target);
        }
        else if (xd is not null && SameCountKnown(xd, dims) is false)
        {
            c.Fail($"cannot reshape {InferenceContext.Format(xd)} to {InferenceContext.Format(dims)}: the element counts differ");
        }
        c.Set(0, c.ElemOf(0), dims);
        FoldCopy(c, 0);
    }

    /// <summary>
    /// The size that -1 stands for: the input's element count divided by the other target sizes.
    /// Symbols that appear on both sides cancel (<c>[N,3,8,8]</c> to <c>[N,-1]</c> gives 192).
    /// </summary>
    private static Dim Remaining(InferenceContext c, IReadOnlyList<Dim> input, IEnumerable<Dim> others, IReadOnlyList<Dim> target)
    {
        if (!TrySplit(input, out long inKnown, out List<string> inSyms) || !TrySplit(others, out long outKnown, out List<string> outSyms))
        {
            return Dim.Unknown;
        }
        foreach (string s in outSyms)
        {
            if (!inSyms.Remove(s))
            {
                return Dim.Unknown;
            }
        }
        if (outKnown == 0)
        {
            return inKnown == 0 ? Dim.Unknown : c.Fail<Dim>($"shape {InferenceContext.Format(target)} has a zero next to -1");
        }
        if (inSyms.Count == 0)
        {
            return inKnown % outKnown == 0
                ? Dim.Of(inKnown / outKnown)
                : c.Fail<Dim>($"cannot reshape {InferenceContext.Format(input)} to {InferenceContext.Format(target)}: {inKnown} elements do not divide by {outKnown}");
        }
        return inSyms.Count == 1 && inKnown == outKnown ? Dim.Sym(inSyms[0]) : Dim.Unknown;
    }

    /// <summary>Splits a product of dims into its known factor and its symbols; false when a dim is unknown.</summary>
    private static bool TrySplit(IEnumerable<Dim> dims, out long known, out List<string> symbols)
    {
        known = 1;
        symbols = [];
        foreach (Dim d in dims)
        {
            if (d.Value is long v)
            {
                known = checked(known * v);
            }
            else if (d.Symbol is { } s)
            {
                symbols.Add(s);
            }
            else
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Whether two shapes have the same element count, or null when that cannot be decided.</summary>
    private static bool? SameCountKnown(IReadOnlyList<Dim> a, IReadOnlyList<Dim> b)
    {
        if (!TrySplit(a, out long ka, out List<string> sa) || !TrySplit(b, out long kb, out List<string> sb))
        {
            return null;
        }
        sa.Sort(StringComparer.Ordinal);
        sb.Sort(StringComparer.Ordinal);
        if (!sa.SequenceEqual(sb))
        {
            return null;
        }
        return ka == kb;
    }

    /// <summary>[prod(d[..axis]), prod(d[axis..])]; axis may be negative from opset 11.</summary>
    private static void Flatten(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        if (xd is null)
        {
            c.Set(0, c.ElemOf(0), [Dim.Unknown, Dim.Unknown]);
            return;
        }
        long axis = c.Int("axis", 1);
        if (axis < -xd.Count || axis > xd.Count)
        {
            c.Fail($"axis {axis} is out of range for rank {xd.Count}");
        }
        int a = (int)(axis < 0 ? axis + xd.Count : axis);
        c.Set(0, c.ElemOf(0), [DimMath.Product(xd.Take(a)), DimMath.Product(xd.Skip(a))]);
        FoldCopy(c, 0);
    }

    private static void Transpose(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        long[]? perm = c.Ints("perm");
        if (xd is null)
        {
            c.Set(0, c.ElemOf(0), perm is null ? null : Enumerable.Repeat(Dim.Unknown, perm.Length));
            return;
        }
        perm ??= [.. Enumerable.Range(0, xd.Count).Reverse().Select(i => (long)i)];
        if (perm.Length != xd.Count || perm.Distinct().Count() != perm.Length || perm.Any(p => p < 0 || p >= xd.Count))
        {
            c.Fail($"perm {InferenceContext.Format(perm)} is not a permutation of rank {xd.Count}");
        }
        c.Set(0, c.ElemOf(0), perm.Select(p => xd[(int)p]));
    }

    /// <summary>The axes of Squeeze/Unsqueeze/ReduceX: an attribute before <paramref name="inputSince"/>, input 1 from it.</summary>
    private static bool TryGetAxes(InferenceContext c, long inputSince, out long[]? axes)
    {
        if (c.Opset < inputSince)
        {
            axes = c.Ints("axes");
            return true;
        }
        if (!c.HasInput(1))
        {
            axes = null;
            return true;
        }
        axes = c.IntsOf(1);
        return axes is not null;
    }

    private static void Squeeze(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        if (!TryGetAxes(c, 13, out long[]? axes) || xd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        if (axes is null || axes.Length == 0)
        {
            // Without axes every 1 goes; a dimension that might be 1 makes the rank unknowable.
            c.Set(0, c.ElemOf(0), xd.All(d => d.IsKnown) ? xd.Where(d => d.Value != 1) : null);
            FoldCopy(c, 0);
            return;
        }
        var drop = new HashSet<int>();
        foreach (long a in axes)
        {
            int axis = c.Axis(a, xd.Count);
            if (xd[axis].Value is long v && v != 1)
            {
                c.Fail($"cannot squeeze axis {a} of {InferenceContext.Format(xd)}: its size is {v}, not 1");
            }
            drop.Add(axis);
        }
        c.Set(0, c.ElemOf(0), xd.Where((_, i) => !drop.Contains(i)));
        FoldCopy(c, 0);
    }

    private static void Unsqueeze(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        if (!TryGetAxes(c, 13, out long[]? axes) || xd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        if (axes is null)
        {
            c.Fail(c.Opset < 13 ? "required attribute 'axes' is missing" : "input 'axes' is required but missing");
        }
        int rank = xd.Count + axes.Length;
        var insert = new HashSet<int>();
        foreach (long a in axes)
        {
            if (!insert.Add(c.Axis(a, rank)))
            {
                c.Fail($"axes {InferenceContext.Format(axes)} repeat an axis");
            }
        }
        var dims = new List<Dim>(rank);
        int next = 0;
        for (int i = 0; i < rank; i++)
        {
            dims.Add(insert.Contains(i) ? Dim.Of(1) : xd[next++]);
        }
        c.Set(0, c.ElemOf(0), dims);
        FoldCopy(c, 0);
    }

    private static void Concat(InferenceContext c)
    {
        if (c.InputCount == 0)
        {
            c.Fail("Concat needs at least one input");
        }
        long axisAttr = c.Opset < 4 ? c.Int("axis", 1) : c.Node.GetInt("axis");
        DataType type = Enumerable.Range(0, c.InputCount).Select(c.ElemOf).FirstOrDefault(t => t != DataType.Undefined);
        var known = Enumerable.Range(0, c.InputCount).Where(c.HasInput).Select(i => c.DimsOf(i)).ToList();
        IReadOnlyList<Dim>? first = known.FirstOrDefault(d => d is not null);
        if (first is null)
        {
            c.Set(0, type, null);
            return;
        }
        int rank = first.Count;
        if (known.FirstOrDefault(d => d is not null && d.Count != rank) is { } other)
        {
            c.Fail($"inputs have different ranks: {InferenceContext.Format(first)} and {InferenceContext.Format(other)}");
        }
        int axis = c.Axis(axisAttr, rank);
        var dims = new Dim[rank];
        for (int i = 0; i < rank; i++)
        {
            if (i == axis)
            {
                dims[i] = known.Any(d => d is null) ? Dim.Unknown : known.Select(d => d![i]).Aggregate(Dim.Of(0), DimMath.Add);
                continue;
            }
            Dim acc = Dim.Unknown;
            foreach (IReadOnlyList<Dim>? d in known)
            {
                if (d is null)
                {
                    continue;
                }
                if (acc.Value is long x && d[i].Value is long y && x != y)
                {
                    c.Fail($"inputs {InferenceContext.Format(first)} and {InferenceContext.Format(d)} differ on axis {i}, which is not the concat axis {axis}");
                }
                if (!acc.IsKnown && (d[i].IsKnown || acc.Symbol is null))
                {
                    acc = d[i];
                }
            }
            dims[i] = acc;
        }
        c.Set(0, type, dims);
        FoldConcat(c, axis);
    }

    /// <summary>
    /// Split sizes: the split attribute (before 13) or input (from 13); otherwise equal parts, or
    /// with num_outputs (18) chunks of ceil(d / n) with a smaller last one.
    /// </summary>
    private static void Split(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        DataType type = c.ElemOf(0);
        int outputs = c.OutputCount;
        if (xd is null)
        {
            for (int i = 0; i < outputs; i++)
            {
                c.Set(i, type, null);
            }
            return;
        }
        int axis = c.Axis(c.Int("axis", 0), xd.Count);
        long[]? split = c.Opset < 13 ? c.Ints("split") ?? (c.HasInput(1) ? c.IntsOf(1) : null) : (c.HasInput(1) ? c.IntsOf(1) : null);
        bool splitGiven = c.Opset < 13 ? c.Node.HasAttribute("split") || c.HasInput(1) : c.HasInput(1);
        Dim whole = xd[axis];
        Dim[] sizes = new Dim[outputs];
        if (splitGiven && split is null)
        {
            Array.Fill(sizes, Dim.Unknown);
        }
        else if (split is not null)
        {
            if (split.Length != outputs)
            {
                c.Fail($"split {InferenceContext.Format(split)} has {split.Length} parts for {outputs} outputs");
            }
            if (whole.Value is long w && split.Sum() != w)
            {
                c.Fail($"split {InferenceContext.Format(split)} sums to {split.Sum()} but axis {axis} of {InferenceContext.Format(xd)} has {w}");
            }
            sizes = [.. split.Select(Dim.Of)];
        }
        else if (whole.Value is long w)
        {
            long n = c.Opset >= 18 && c.Node.HasAttribute("num_outputs") ? c.Int("num_outputs", outputs) : outputs;
            if (n != outputs)
            {
                c.Fail($"num_outputs is {n} but the node has {outputs} outputs");
            }
            if (w % n != 0 && c.Opset < 18)
            {
                c.Fail($"axis {axis} of {InferenceContext.Format(xd)} ({w}) does not split evenly into {n} parts");
            }
            long chunk = DimMath.CeilDiv(w, n);
            for (int i = 0; i < outputs; i++)
            {
                sizes[i] = Dim.Of(Math.Max(0, Math.Min(chunk, w - chunk * i)));
            }
        }
        else
        {
            Array.Fill(sizes, Dim.Unknown);
        }
        for (int i = 0; i < outputs; i++)
        {
            Dim size = sizes[i];
            c.Set(i, type, xd.Select((d, k) => k == axis ? size : d));
        }
    }

    /// <summary>
    /// Slice with attributes (before opset 10) or inputs starts/ends/axes/steps, clamping as the
    /// spec does: for a positive step start and end clamp to [0, d], for a negative one start to
    /// [0, d-1] and end to [-1, d-1]; the size is max(0, ceil((end - start) / step)).
    /// </summary>
    private static void Slice(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        DataType type = c.ElemOf(0);
        if (xd is null)
        {
            c.Set(0, type, null);
            return;
        }
        long[]? starts, ends, axes, steps;
        if (c.Opset < 10)
        {
            starts = c.Ints("starts") ?? c.Fail<long[]>("required attribute 'starts' is missing");
            ends = c.Ints("ends") ?? c.Fail<long[]>("required attribute 'ends' is missing");
            axes = c.Ints("axes");
            steps = null;
        }
        else
        {
            starts = c.IntsOf(1);
            ends = c.IntsOf(2);
            axes = c.HasInput(3) ? c.IntsOf(3) : null;
            steps = c.HasInput(4) ? c.IntsOf(4) : null;
            if ((c.HasInput(3) && axes is null) || (c.HasInput(4) && steps is null) || starts is null || ends is null)
            {
                // Values not known: the sliced axes (all of them, when axes is not known either) lose their size.
                int[] sliced = axes is null ? [.. Enumerable.Range(0, xd.Count)] : [.. axes.Select(a => c.Axis(a, xd.Count))];
                c.Set(0, type, xd.Select((d, i) => sliced.Contains(i) ? Dim.Unknown : d));
                return;
            }
        }
        if (starts.Length != ends.Length || (axes is not null && axes.Length != starts.Length) || (steps is not null && steps.Length != starts.Length))
        {
            c.Fail($"starts {InferenceContext.Format(starts)}, ends {InferenceContext.Format(ends)}, axes and steps must have the same length");
        }
        axes ??= [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
        steps ??= [.. Enumerable.Repeat(1L, starts.Length)];
        var dims = xd.ToArray();
        var plan = new (long Start, long Step, long Count)[xd.Count];
        for (int i = 0; i < xd.Count; i++)
        {
            plan[i] = (0, 1, xd[i].Value ?? -1);
        }
        var seen = new HashSet<int>();
        for (int k = 0; k < starts.Length; k++)
        {
            int axis = c.Axis(axes[k], xd.Count);
            if (!seen.Add(axis))
            {
                c.Fail($"axes {InferenceContext.Format(axes)} repeat axis {axis}");
            }
            long step = steps[k];
            if (step == 0)
            {
                c.Fail("a step of 0 is not allowed");
            }
            if (xd[axis].Value is not long d)
            {
                // A symbolic dimension survives a full-range slice only.
                bool full = step == 1 && starts[k] == 0 && ends[k] >= int.MaxValue;
                dims[axis] = full ? xd[axis] : Dim.Unknown;
                continue;
            }
            (long start, long count) = SliceRange(d, starts[k], ends[k], step);
            dims[axis] = Dim.Of(count);
            plan[axis] = (start, step, count);
        }
        c.Set(0, type, dims);
        FoldSlice(c, plan);
    }

    internal static (long Start, long Count) SliceRange(long d, long start, long end, long step)
    {
        if (d == 0)
        {
            return (0, 0); // Nothing to slice (and the clamps below would have an empty range).
        }
        start = start < 0 ? start + d : start;
        end = end < 0 ? end + d : end;
        if (step > 0)
        {
            start = Math.Clamp(start, 0, d);
            end = Math.Clamp(end, 0, d);
        }
        else
        {
            start = Math.Clamp(start, 0, d - 1);
            end = Math.Clamp(end, -1, d - 1);
        }
        long count = step > 0 ? DimMath.CeilDiv(end - start, step) : DimMath.CeilDiv(start - end, -step);
        return (start, Math.Max(0, count));
    }

    /// <summary>data[..axis] ++ indices ++ data[axis + 1..].</summary>
    private static void Gather(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        IReadOnlyList<Dim>? id = c.DimsOf(1);
        if (xd is null || id is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        if (xd.Count == 0)
        {
            c.Fail("data must have rank at least 1");
        }
        int axis = c.Axis(c.Int("axis", 0), xd.Count);
        c.Set(0, c.ElemOf(0), [.. xd.Take(axis), .. id, .. xd.Skip(axis + 1)]);
        FoldGather(c, axis);
    }

    /// <summary>indices[..^1] ++ data[batch_dims + indices[^1]..].</summary>
    private static void GatherND(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        IReadOnlyList<Dim>? id = c.DimsOf(1);
        if (xd is null || id is null || id.Count == 0 || id[^1].Value is not long last)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        int batch = (int)c.Int("batch_dims", 0);
        if (batch + last > xd.Count)
        {
            c.Fail($"indices {InferenceContext.Format(id)} index past the rank of data {InferenceContext.Format(xd)}");
        }
        c.Set(0, c.ElemOf(0), [.. id.Take(id.Count - 1), .. xd.Skip(batch + (int)last)]);
    }

    /// <summary>Shape, with start/end (opset 15) clamped to [0, rank].</summary>
    private static void Shape(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        if (xd is null)
        {
            c.Set(0, DataType.Int64, [Dim.Unknown]);
            return;
        }
        int r = xd.Count;
        long start = c.Opset >= 15 ? c.Int("start", 0) : 0;
        long end = c.Opset >= 15 ? c.Int("end", r) : r;
        start = Math.Clamp(start < 0 ? start + r : start, 0, r);
        end = Math.Clamp(end < 0 ? end + r : end, 0, r);
        c.SetValue(0, DataType.Int64, ShapeValue.Vector(xd.Skip((int)start).Take((int)Math.Max(0, end - start))));
    }

    private static void Expand(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        IReadOnlyList<Dim>? shape = c.ValueOf(1)?.Elements;
        if (shape is null)
        {
            long? length = c.DimsOf(1) is [{ Value: long n }] ? n : null;
            c.Set(0, c.ElemOf(0), length is long k && xd is not null ? InferenceContext.UnknownDims(Math.Max(k, xd.Count)) : null);
            return;
        }
        List<Dim>? dims = DimMath.Broadcast([xd, shape], out string? conflict);
        if (conflict is not null)
        {
            c.Fail($"input {InferenceContext.Format(xd!)} cannot expand to {InferenceContext.Format(shape)}");
        }
        c.Set(0, c.ElemOf(0), dims);
    }

    private static void Tile(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        IReadOnlyList<Dim>? repeats = c.ValueOf(1)?.Elements;
        if (xd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        if (repeats is null)
        {
            c.Set(0, c.ElemOf(0), Enumerable.Repeat(Dim.Unknown, xd.Count));
            return;
        }
        if (repeats.Count != xd.Count)
        {
            c.Fail($"repeats {InferenceContext.Format(repeats)} do not match the rank of {InferenceContext.Format(xd)}");
        }
        c.Set(0, c.ElemOf(0), xd.Select((d, i) => DimMath.Mul(d, repeats[i])));
    }

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
