using System.Collections.Immutable;
using ModelBridge.Ir;

namespace ModelBridge.Shapes;

/// <summary>
/// Constants and the evaluation of small integer tensors: initializers, <c>Constant</c> and the
/// shape arithmetic built on <c>Shape</c> (Gather, Concat, Slice, Mul, ...). Each element is a
/// <see cref="Dim"/>, so a symbol such as <c>N</c> flows through the chain and an unknown element
/// stays unknown without spoiling its neighbours.
/// </summary>
public static partial class ShapeInference
{
    private static void RegisterConstants(Dictionary<string, Action<InferenceContext>> rules)
    {
        rules["Constant"] = Constant;
        rules["ConstantOfShape"] = ConstantOfShape;
        rules["Range"] = Range;
    }

    private static void Constant(InferenceContext c)
    {
        Node n = c.Node;
        if (n.GetTensor("value") is { } t)
        {
            if (t.DataType != DataType.String && IsTrackable(t, c.Options))
            {
                c.SetValue(0, t.DataType, ShapeValue.FromInts([.. t.Dims], t.ToInt64Array()));
                return;
            }
            c.Set(0, t.DataType, t.Dims.Select(Dim.Of));
            return;
        }
        if (n.HasAttribute("value_int"))
        {
            c.SetValue(0, DataType.Int64, ShapeValue.Scalar(Dim.Of(n.GetInt("value_int"))));
        }
        else if (n.GetInts("value_ints") is { } ints)
        {
            c.SetValue(0, DataType.Int64, ShapeValue.Vector(ints.Select(Dim.Of)));
        }
        else if (n.HasAttribute("value_float"))
        {
            c.Set(0, DataType.Float, []);
        }
        else if (n.GetFloats("value_floats") is { } floats)
        {
            c.Set(0, DataType.Float, [Dim.Of(floats.Length)]);
        }
        else if (n.HasAttribute("value_string"))
        {
            c.Set(0, DataType.String, []);
        }
        else if (n.GetStrings("value_strings") is { } strings)
        {
            c.Set(0, DataType.String, [Dim.Of(strings.Length)]);
        }
        else if (n.FindAttribute("sparse_value")?.SparseTensor is { } sparse)
        {
            c.Set(0, (DataType)sparse.Values.DataType, sparse.Dims.Select(Dim.Of));
        }
        else
        {
            // value_ints with zero elements has no populated field, so it reads as absent.
            c.Fail("none of value, value_int(s), value_float(s), value_string(s) or sparse_value is set");
        }
    }

    /// <summary>A tensor of the given shape filled with <c>value</c> (float 0 by default).</summary>
    private static void ConstantOfShape(InferenceContext c)
    {
        Tensor? fill = c.Node.GetTensor("value");
        DataType type = fill?.DataType ?? DataType.Float;
        ShapeValue? shape = c.ValueOf(0);
        if (shape is null)
        {
            c.Set(0, type, c.DimsOf(0) is [{ Value: long n }] ? InferenceContext.UnknownDims(n) : null);
            return;
        }
        if (shape.Elements.Any(d => d.Value < 0))
        {
            c.Fail($"shape {shape} has a negative dimension");
        }
        c.Set(0, type, shape.Elements);
        if (IsIntegral(type) && shape.TryGetKnown(out long[] dims) && Count(dims) <= c.Options.MaxConstantElements)
        {
            long v = fill?.ToInt64Array() is [long x] ? x : 0;
            c.SetValue(0, type, ShapeValue.FromInts(dims, Enumerable.Repeat(v, (int)Count(dims))));
        }
    }

    /// <summary>[max(ceil((limit - start) / delta), 0)], evaluated when the operands are constant.</summary>
    private static void Range(InferenceContext c)
    {
        DataType type = c.ElemOf(0);
        if (IsIntegral(type) && c.ScalarOf(0) is long s && c.ScalarOf(1) is long l && c.ScalarOf(2) is long d)
        {
            if (d == 0)
            {
                c.Fail("delta is 0");
            }
            long n = Math.Max(0, d > 0 ? DimMath.CeilDiv(l - s, d) : DimMath.CeilDiv(s - l, -d));
            if (n <= c.Options.MaxConstantElements)
            {
                c.SetValue(0, type, ShapeValue.FromInts([n], Enumerable.Range(0, (int)n).Select(i => s + i * d)));
            }
            else
            {
                c.Set(0, type, [Dim.Of(n)]);
            }
            return;
        }
        if (c.FloatsOf(0) is [float fs] && c.FloatsOf(1) is [float fl] && c.FloatsOf(2) is [float fd] && fd != 0)
        {
            c.Set(0, type, [Dim.Of(Math.Max(0, (long)Math.Ceiling((fl - fs) / fd)))]);
            return;
        }
        c.Set(0, type, [Dim.Unknown]);
    }

    /// <summary>The static shape the rule gave output 0, when it has one.</summary>
    private static long[]? StaticOutput(InferenceContext c) =>
        c.Inferred[0]?.Shape is { } s && s.TryGetStatic(out long[] dims) ? dims : null;

    /// <summary>Element count of a static shape; a negative dimension counts as too many to fold (the run then refuses the shape).</summary>
    private static long Count(long[] dims) => dims.Any(d => d < 0) ? long.MaxValue : Tensor.CountElements(dims);

    /// <summary>Output 0 holds the elements of input <paramref name="from"/> under the new static shape.</summary>
    private static void FoldCopy(InferenceContext c, int from)
    {
        if (c.ValueOf(from) is { } src && StaticOutput(c) is { } dims && Count(dims) == src.Count)
        {
            c.SetValue(0, c.Inferred[0]!.ElementType, new ShapeValue(dims, src.Elements));
        }
    }

    private static void FoldCast(InferenceContext c, DataType to)
    {
        if (c.ValueOf(0) is not { } src)
        {
            return;
        }
        ImmutableArray<Dim> elements = to == DataType.Bool
            ? [.. src.Elements.Select(d => d.Value is long v ? Dim.Of(v != 0 ? 1 : 0) : Dim.Unknown)]
            : src.Elements;
        c.SetValue(0, to, new ShapeValue(src.Dims, elements));
    }

    /// <summary>Elementwise arithmetic, comparison and Where on tracked inputs, with broadcasting.</summary>
    private static void FoldElementwise(InferenceContext c)
    {
        long[]? outDims = StaticOutput(c);
        if (outDims is null)
        {
            return;
        }
        var inputs = new List<ShapeValue>();
        for (int i = 0; i < c.InputCount; i++)
        {
            if (c.ValueOf(i) is not { } v)
            {
                return;
            }
            inputs.Add(v);
        }
        Func<Dim[], Dim>? op = c.Node.OpType switch
        {
            "Add" or "Sum" => e => e.Aggregate(DimMath.Add),
            "Sub" => e => DimMath.Sub(e[0], e[1]),
            "Mul" => e => e.Aggregate(DimMath.Mul),
            "Div" => e => DimMath.Div(e[0], e[1]),
            "Max" => e => Known(e, v => v.Max()),
            "Min" => e => Known(e, v => v.Min()),
            "Equal" => e => e[0] == e[1] && (e[0].IsKnown || e[0].Symbol is not null) ? Dim.Of(1) : Known(e, v => v[0] == v[1] ? 1 : 0),
            "Less" => e => Known(e, v => v[0] < v[1] ? 1 : 0),
            "Greater" => e => Known(e, v => v[0] > v[1] ? 1 : 0),
            "LessOrEqual" => e => Known(e, v => v[0] <= v[1] ? 1 : 0),
            "GreaterOrEqual" => e => Known(e, v => v[0] >= v[1] ? 1 : 0),
            "And" => e => Known(e, v => v[0] != 0 && v[1] != 0 ? 1 : 0),
            "Or" => e => Known(e, v => v[0] != 0 || v[1] != 0 ? 1 : 0),
            "Where" => e => e[0].Value is long cond ? (cond != 0 ? e[1] : e[2]) : (e[1] == e[2] ? e[1] : Dim.Unknown),
            _ => null,
        };
        if (op is null || Count(outDims) > c.Options.MaxConstantElements)
        {
            return;
        }
        int n = (int)Count(outDims);
        var result = ImmutableArray.CreateBuilder<Dim>(n);
        var args = new Dim[inputs.Count];
        for (int flat = 0; flat < n; flat++)
        {
            for (int k = 0; k < inputs.Count; k++)
            {
                args[k] = inputs[k].Elements[BroadcastIndex(flat, outDims, inputs[k].Dims)];
            }
            result.Add(op(args));
        }
        c.SetValue(0, c.Inferred[0]!.ElementType, new ShapeValue(outDims, result.MoveToImmutable()));

        static Dim Known(Dim[] e, Func<long[], long> f) =>
            e.All(d => d.IsKnown) ? Dim.Of(f([.. e.Select(d => d.Value!.Value)])) : Dim.Unknown;
    }

    /// <summary>The flat index into an input of shape <paramref name="inDims"/> that broadcasts to output index <paramref name="flat"/>.</summary>
    private static int BroadcastIndex(int flat, long[] outDims, long[] inDims)
    {
        long index = 0;
        long stride = 1;
        for (int o = outDims.Length - 1, i = inDims.Length - 1; o >= 0; o--, i--)
        {
            long coord = flat % outDims[o];
            flat = (int)(flat / outDims[o]);
            if (i < 0)
            {
                continue;
            }
            index += (inDims[i] == 1 ? 0 : coord) * stride;
            stride *= inDims[i];
        }
        return (int)index;
    }

    private static void FoldConcat(InferenceContext c, int axis)
    {
        long[]? outDims = StaticOutput(c);
        var parts = new List<ShapeValue>();
        for (int i = 0; i < c.InputCount; i++)
        {
            if (!c.HasInput(i))
            {
                continue;
            }
            if (c.ValueOf(i) is not { } v || v.Dims.Length != outDims?.Length)
            {
                return;
            }
            parts.Add(v);
        }
        long outer = Count(outDims![..axis]);
        var result = ImmutableArray.CreateBuilder<Dim>();
        for (long o = 0; o < outer; o++)
        {
            foreach (ShapeValue p in parts)
            {
                int block = (int)Count(p.Dims[axis..]);
                for (int k = 0; k < block; k++)
                {
                    result.Add(p.Elements[(int)(o * block) + k]);
                }
            }
        }
        if (result.Count == Count(outDims))
        {
            c.SetValue(0, c.Inferred[0]!.ElementType, new ShapeValue(outDims, result.ToImmutable()));
        }
    }

    private static void FoldSlice(InferenceContext c, (long Start, long Step, long Count)[] plan)
    {
        if (c.ValueOf(0) is not { } src || src.Dims.Length != plan.Length || StaticOutput(c) is not { } outDims)
        {
            return;
        }
        int n = (int)Count(outDims);
        var result = ImmutableArray.CreateBuilder<Dim>(n);
        for (int flat = 0; flat < n; flat++)
        {
            long rest = flat;
            long index = 0;
            long stride = 1;
            for (int a = plan.Length - 1; a >= 0; a--)
            {
                long coord = rest % outDims[a];
                rest /= outDims[a];
                index += (plan[a].Start + coord * plan[a].Step) * stride;
                stride *= src.Dims[a];
            }
            result.Add(src.Elements[(int)index]);
        }
        c.SetValue(0, c.Inferred[0]!.ElementType, new ShapeValue(outDims, result.MoveToImmutable()));
    }

    private static void FoldGather(InferenceContext c, int axis)
    {
        if (c.ValueOf(0) is not { } data || c.IntsOf(1) is not { } indices || c.ValueOf(1) is not { } idx || StaticOutput(c) is not { } outDims)
        {
            return;
        }
        long axisSize = data.Dims[axis];
        long outer = Count(data.Dims[..axis]);
        int inner = (int)Count(data.Dims[(axis + 1)..]);
        var result = ImmutableArray.CreateBuilder<Dim>();
        for (long o = 0; o < outer; o++)
        {
            foreach (long raw in indices)
            {
                long k = raw < 0 ? raw + axisSize : raw;
                if (k < 0 || k >= axisSize)
                {
                    c.Fail($"index {raw} is out of range for axis {axis} of size {axisSize}");
                }
                int at = (int)((o * axisSize + k) * inner);
                for (int j = 0; j < inner; j++)
                {
                    result.Add(data.Elements[at + j]);
                }
            }
        }
        if (result.Count == Count(outDims) && idx.Count == indices.Length)
        {
            c.SetValue(0, c.Inferred[0]!.ElementType, new ShapeValue(outDims, result.ToImmutable()));
        }
    }

    private static void FoldReduceProd(InferenceContext c, HashSet<int> axes)
    {
        if (c.ValueOf(0) is not { } src || StaticOutput(c) is not { } outDims)
        {
            return;
        }
        var acc = Enumerable.Repeat(Dim.Of(1), (int)Count(outDims)).ToArray();
        long[] reducedDims = [.. src.Dims.Select((d, i) => axes.Contains(i) ? 1 : d)];
        for (int flat = 0; flat < src.Count; flat++)
        {
            long rest = flat;
            long index = 0;
            long stride = 1;
            for (int a = src.Dims.Length - 1; a >= 0; a--)
            {
                long coord = rest % src.Dims[a];
                rest /= src.Dims[a];
                index += (axes.Contains(a) ? 0 : coord) * stride;
                stride *= reducedDims[a];
            }
            acc[index] = DimMath.Mul(acc[index], src.Elements[flat]);
        }
        c.SetValue(0, c.Inferred[0]!.ElementType, new ShapeValue(outDims, [.. acc]));
    }
}
