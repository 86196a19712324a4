using ModelBridge.Ir;

namespace ModelBridge.Shapes;

/// <summary>Arithmetic and broadcasting on possibly symbolic dimensions.</summary>
internal static class DimMath
{
    public static bool IsOne(Dim d) => d.Value == 1;

    /// <summary>
    /// Numpy broadcasting of one aligned dimension pair. A known size other than 1 wins over a
    /// symbol or an unknown (the other must equal it or be 1); equal symbols stay; anything else is unknown.
    /// </summary>
    /// <returns>False when two known sizes conflict.</returns>
    public static bool TryBroadcast(Dim a, Dim b, out Dim result)
    {
        if (IsOne(a))
        {
            result = b;
            return true;
        }
        if (IsOne(b))
        {
            result = a;
            return true;
        }
        if (a.Value is long x && b.Value is long y)
        {
            result = a;
            return x == y;
        }
        if (a.IsKnown)
        {
            result = a;
            return true;
        }
        if (b.IsKnown)
        {
            result = b;
            return true;
        }
        // Both are symbols or unknown. A valid broadcast of a symbol with an unknown gives the symbol
        // (the unknown is 1 or the same size); two different symbols cannot be decided.
        if (a.Symbol is not null && b.Symbol is not null)
        {
            result = a.Symbol == b.Symbol ? a : Dim.Unknown;
            return true;
        }
        result = a.Symbol is not null ? a : b;
        return true;
    }

    /// <summary>Multidirectional broadcast of several shapes; null when any rank is unknown.</summary>
    /// <param name="shapes">The shapes.</param>
    /// <param name="conflict">Set to a description of the first conflicting pair.</param>
    public static List<Dim>? Broadcast(IReadOnlyList<IReadOnlyList<Dim>?> shapes, out string? conflict)
    {
        conflict = null;
        if (shapes.Any(s => s is null))
        {
            return null;
        }
        int rank = shapes.Max(s => s!.Count);
        var result = new List<Dim>(rank);
        for (int i = 0; i < rank; i++)
        {
            Dim acc = Dim.Of(1);
            foreach (IReadOnlyList<Dim>? s in shapes)
            {
                int j = i - (rank - s!.Count);
                if (j < 0)
                {
                    continue;
                }
                if (!TryBroadcast(acc, s[j], out Dim next))
                {
                    conflict = $"dimension {i} of the broadcast result: {acc} vs {s[j]}";
                    return null;
                }
                acc = next;
            }
            result.Add(acc);
        }
        return result;
    }

    public static Dim Mul(Dim a, Dim b)
    {
        if (a.Value is long x && b.Value is long y)
        {
            return Dim.Of(checked(x * y));
        }
        if (IsOne(a))
        {
            return b;
        }
        return IsOne(b) ? a : Dim.Unknown;
    }

    public static Dim Add(Dim a, Dim b)
    {
        if (a.Value is long x && b.Value is long y)
        {
            return Dim.Of(checked(x + y));
        }
        if (a.Value == 0)
        {
            return b;
        }
        return b.Value == 0 ? a : Dim.Unknown;
    }

    public static Dim Sub(Dim a, Dim b)
    {
        if (a.Value is long x && b.Value is long y)
        {
            return Dim.Of(checked(x - y));
        }
        return b.Value == 0 ? a : Dim.Unknown;
    }

    /// <summary>Integer division truncating toward zero (as ONNX Runtime does for integer Div).</summary>
    public static Dim Div(Dim a, Dim b)
    {
        if (a.Value is long x && b.Value is long y)
        {
            return y == 0 ? Dim.Unknown : Dim.Of(x / y);
        }
        if (IsOne(b))
        {
            return a;
        }
        return a.Symbol is not null && a.Symbol == b.Symbol ? Dim.Of(1) : Dim.Unknown;
    }

    /// <summary>Product of dimensions: known, a lone symbol times ones, or unknown.</summary>
    public static Dim Product(IEnumerable<Dim> dims) => dims.Aggregate(Dim.Of(1), Mul);

    /// <summary>Floor division by a positive divisor.</summary>
    public static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    /// <summary>Ceiling division by a positive divisor.</summary>
    public static long CeilDiv(long a, long b) => -FloorDiv(-a, b);
}
