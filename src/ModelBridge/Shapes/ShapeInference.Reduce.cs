using ModelBridge.Ir;

namespace ModelBridge.Shapes;

public static partial class ShapeInference
{
    private static void RegisterReduce(Dictionary<string, Action<InferenceContext>> rules)
    {
        string[] reduceOps = ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"];
        foreach (string op in reduceOps)
        {
            // ReduceSum takes axes as an input from opset 13, the others from 18.
            long inputSince = op == "ReduceSum" ? 13 : 18;
            rules[op] = c => Reduce(c, inputSince);
        }
        rules["ArgMax"] = ArgReduce;
        rules["ArgMin"] = ArgReduce;
    }

    /// <summary>
    /// Reduce over axes (attribute, or input from <paramref name="inputSince"/>); no axes means all
    /// axes, or nothing with noop_with_empty_axes. keepdims (default 1) leaves the axes as 1.
    /// </summary>
    private static void Reduce(InferenceContext c, long inputSince)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        DataType type = c.ElemOf(0);
        bool keep = c.Int("keepdims", 1) != 0;
        if (xd is null)
        {
            c.Set(0, type, null);
            return;
        }
        if (!TryGetAxes(c, inputSince, out long[]? axes))
        {
            // Axes computed at run time: with keepdims only the rank is known.
            c.Set(0, type, keep ? Enumerable.Repeat(Dim.Unknown, xd.Count) : null);
            return;
        }
        if (axes is null || axes.Length == 0)
        {
            if (c.Opset >= inputSince && c.Int("noop_with_empty_axes", 0) != 0)
            {
                c.SameAs(0, 0);
                FoldCopy(c, 0);
                return;
            }
            axes = [.. Enumerable.Range(0, xd.Count).Select(i => (long)i)];
        }
        var reduced = axes.Select(a => c.Axis(a, xd.Count)).ToHashSet();
        var dims = new List<Dim>();
        for (int i = 0; i < xd.Count; i++)
        {
            if (!reduced.Contains(i))
            {
                dims.Add(xd[i]);
            }
            else if (keep)
            {
                dims.Add(Dim.Of(1));
            }
        }
        c.Set(0, type, dims);
        if (c.Node.OpType == "ReduceProd")
        {
            FoldReduceProd(c, reduced);
        }
    }

    /// <summary>ArgMax/ArgMin: int64, the axis removed or kept as 1.</summary>
    private static void ArgReduce(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        if (xd is null)
        {
            c.Set(0, DataType.Int64, null);
            return;
        }
        int axis = c.Axis(c.Int("axis", 0), xd.Count);
        bool keep = c.Int("keepdims", 1) != 0;
        c.Set(0, DataType.Int64, keep ? xd.Select((d, i) => i == axis ? Dim.Of(1) : d) : xd.Where((_, i) => i != axis));
    }
}
