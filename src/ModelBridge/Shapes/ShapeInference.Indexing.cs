using System.Globalization;
using ModelBridge.Ir;

namespace ModelBridge.Shapes;

/// <remarks>Concat, Split, Slice, Gather, GatherND, Shape, Expand and Tile: the rules that select or repeat elements.</remarks>
public static partial class ShapeInference
{
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
}
