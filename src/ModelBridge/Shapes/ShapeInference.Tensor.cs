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
}
