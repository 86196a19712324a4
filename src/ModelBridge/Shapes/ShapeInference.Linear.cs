using ModelBridge.Ir;

namespace ModelBridge.Shapes;

public static partial class ShapeInference
{
    private static void RegisterLinear(Dictionary<string, Action<InferenceContext>> rules)
    {
        rules["MatMul"] = c => MatMul(c, 0, 1, c.ElemOf(0));
        rules["MatMulInteger"] = c => MatMul(c, 0, 1, DataType.Int32);
        rules["QLinearMatMul"] = c => MatMul(c, 0, 3, c.HasInput(7) ? c.ElemOf(7) : DataType.UInt8);
        rules["Gemm"] = Gemm;
        rules["Einsum"] = Einsum;
        rules["Det"] = c => c.Set(0, c.ElemOf(0), c.DimsOf(0) is { Count: >= 2 } d ? d.Take(d.Count - 2) : null);
    }

    /// <summary>
    /// numpy.matmul: 1-D operands are promoted (a leading or trailing 1 that is then dropped), the
    /// batch dimensions broadcast, and the inner dimensions must agree.
    /// </summary>
    private static void MatMul(InferenceContext c, int a, int b, DataType type)
    {
        c.Require(a);
        c.Require(b);
        IReadOnlyList<Dim>? ad = c.DimsOf(a);
        IReadOnlyList<Dim>? bd = c.DimsOf(b);
        if (ad is null || bd is null)
        {
            c.Set(0, type, null);
            return;
        }
        if (ad.Count == 0 || bd.Count == 0)
        {
            c.Fail("MatMul operands must have rank at least 1");
        }
        List<Dim> left = ad.Count == 1 ? [Dim.Of(1), ad[0]] : [.. ad];
        List<Dim> right = bd.Count == 1 ? [bd[0], Dim.Of(1)] : [.. bd];
        Dim k1 = left[^1];
        Dim k2 = right[^2];
        if (k1.Value is long x && k2.Value is long y && x != y)
        {
            c.Fail($"inner dimensions differ: {InferenceContext.Format(ad)} x {InferenceContext.Format(bd)}");
        }
        List<Dim>? batch = DimMath.Broadcast([left[..^2], right[..^2]], out string? conflict);
        if (conflict is not null)
        {
            c.Fail($"batch dimensions of {InferenceContext.Format(ad)} and {InferenceContext.Format(bd)} do not broadcast");
        }
        var dims = new List<Dim>(batch!);
        if (ad.Count > 1)
        {
            dims.Add(left[^2]);
        }
        if (bd.Count > 1)
        {
            dims.Add(right[^1]);
        }
        c.Set(0, type, dims);
    }

    /// <summary>Y[M, N] = op(A)[M, K] x op(B)[K, N], op transposing when transA/transB is set.</summary>
    private static void Gemm(InferenceContext c)
    {
        c.Require(0);
        c.Require(1);
        IReadOnlyList<Dim>? ad = c.DimsOf(0);
        IReadOnlyList<Dim>? bd = c.DimsOf(1);
        if (ad is null || bd is null)
        {
            c.Set(0, c.ElemOf(0), null);
            return;
        }
        if (ad.Count != 2 || bd.Count != 2)
        {
            c.Fail($"A {InferenceContext.Format(ad)} and B {InferenceContext.Format(bd)} must both be 2-D");
        }
        bool ta = c.Int("transA", 0) != 0;
        bool tb = c.Int("transB", 0) != 0;
        Dim m = ta ? ad[1] : ad[0];
        Dim ka = ta ? ad[0] : ad[1];
        Dim kb = tb ? bd[1] : bd[0];
        Dim n = tb ? bd[0] : bd[1];
        if (ka.Value is long x && kb.Value is long y && x != y)
        {
            c.Fail($"inner dimensions differ: A {InferenceContext.Format(ad)} (transA={(ta ? 1 : 0)}) x B {InferenceContext.Format(bd)} (transB={(tb ? 1 : 0)})");
        }
        c.Set(0, c.ElemOf(0), [m, n]);
    }

    /// <summary>Einsum with an explicit or implicit output and optional ellipsis.</summary>
    private static void Einsum(InferenceContext c)
    {
        string equation = (c.Node.GetString("equation") ?? c.Fail<string>("required attribute 'equation' is missing")).Replace(" ", "", StringComparison.Ordinal);
        DataType type = c.ElemOf(0);
        string[] sides = equation.Split("->");
        string[] terms = sides[0].Split(',');
        if (terms.Length != c.InputCount)
        {
            c.Fail($"equation '{equation}' has {terms.Length} operands but the node has {c.InputCount} inputs");
        }
        var letters = new Dictionary<char, Dim>();
        var counts = new Dictionary<char, int>();
        List<Dim>? ellipsis = [];
        for (int t = 0; t < terms.Length; t++)
        {
            IReadOnlyList<Dim>? dims = c.DimsOf(t);
            string term = terms[t];
            int dots = term.IndexOf("...", StringComparison.Ordinal);
            string labels = term.Replace("...", "", StringComparison.Ordinal);
            if (dims is null)
            {
                if (dots >= 0)
                {
                    ellipsis = null;
                }
                foreach (char l in labels)
                {
                    counts[l] = counts.GetValueOrDefault(l) + 1;
                    letters.TryAdd(l, Dim.Unknown);
                }
                continue;
            }
            int ellipsisRank = dims.Count - labels.Length;
            if (ellipsisRank < 0 || (dots < 0 && ellipsisRank != 0))
            {
                c.Fail($"operand {t} of rank {dims.Count} does not match '{term}'");
            }
            int di = 0;
            for (int k = 0; k < term.Length; k++)
            {
                if (k == dots)
                {
                    List<Dim> part = [.. dims.Skip(di).Take(ellipsisRank)];
                    ellipsis = ellipsis is null ? null : DimMath.Broadcast([ellipsis, part], out _);
                    di += ellipsisRank;
                    k += 2;
                    continue;
                }
                char l = term[k];
                counts[l] = counts.GetValueOrDefault(l) + 1;
                Dim d = dims[di++];
                letters[l] = letters.TryGetValue(l, out Dim prev) && DimMath.TryBroadcast(prev, d, out Dim merged) ? merged : d;
            }
        }
        string output = sides.Length > 1
            ? sides[1]
            : (equation.Contains("...", StringComparison.Ordinal) ? "..." : "") + new string([.. counts.Where(kv => kv.Value == 1).Select(kv => kv.Key).Order()]);
        var result = new List<Dim>();
        for (int k = 0; k < output.Length; k++)
        {
            if (output[k] == '.')
            {
                if (ellipsis is null)
                {
                    c.Set(0, type, null);
                    return;
                }
                result.AddRange(ellipsis);
                k += 2;
                continue;
            }
            result.Add(letters.TryGetValue(output[k], out Dim d) ? d : c.Fail<Dim>($"output label '{output[k]}' does not appear in the inputs"));
        }
        c.Set(0, type, result);
    }
}
