using ModelBridge.Ir;

namespace ModelBridge.Verify;

/// <remarks>
/// This file compares whole tensors of any element type (<see cref="Compare"/>), the one tensor
/// comparison of ModelBridge: floating-point tensors go through the streaming kernel; integer, bool
/// and other tensors are compared exactly, element by element.
/// </remarks>
public sealed partial record ParityMetrics
{
    /// <summary>
    /// Elements whose values differ (bitwise for non-numeric types; both-NaN and equal infinities count as
    /// equal). Set by <see cref="Compare"/>; null from the float kernels.
    /// </summary>
    public long? Mismatches { get; init; }

    /// <summary>True when the tensors were compared exactly (integer, bool and other non-floating-point types).</summary>
    public bool IsExactType { get; init; }

    /// <summary>
    /// True when the tensors agree: for exact types every element is equal; for floating point there is no
    /// non-finite mismatch and <see cref="RelativeToMax"/> is at most <paramref name="relativeTolerance"/>.
    /// </summary>
    public bool IsWithin(double relativeTolerance) =>
        IsExactType ? Mismatches == 0 : NonFiniteMismatches == 0 && RelativeToMax <= relativeTolerance;

    /// <summary>Compares <paramref name="actual"/> with <paramref name="reference"/>, tensors of the same type and shape.</summary>
    /// <exception cref="ArgumentException">The element types or shapes differ (the message shows both).</exception>
    public static ParityMetrics Compare(TensorData reference, TensorData actual, double quantile = 0.99) =>
        TryCompare(reference, actual, out ParityMetrics? metrics, out string? problem, quantile)
            ? metrics!
            : throw new ArgumentException(problem, nameof(actual));

    /// <summary>Compares two tensors, or says why they cannot be compared (different element types or shapes).</summary>
    public static bool TryCompare(TensorData reference, TensorData actual, out ParityMetrics? metrics, out string? problem, double quantile = 0.99)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(actual);
        metrics = null;
        problem = null;
        if (reference.ElementType != actual.ElementType)
        {
            problem = $"element types differ: {reference} vs {actual}";
            return false;
        }
        if (!reference.Dims.AsSpan().SequenceEqual(actual.Dims.AsSpan()))
        {
            problem = $"shapes differ: {reference} vs {actual}";
            return false;
        }
        DataType type = reference.ElementType;
        if (DataTypes.IsIntegerOrBool(type))
        {
            metrics = CompareIntegers(reference.ToInt64Array(), actual.ToInt64Array(), type == DataType.UInt64);
            return true;
        }
        if (!DataTypes.IsFloatingPoint(type) || !DataTypes.IsConvertible(type))
        {
            long differing = CountDifferingElements(reference.Bytes.Span, actual.Bytes.Span, reference.ElementCount);
            metrics = Empty with { Count = reference.ElementCount, Mismatches = differing, IsExactType = true, MaxAbsError = differing == 0 ? 0 : double.NaN };
            return true;
        }
        double[] r = reference.ToDoubleArray(), a = actual.ToDoubleArray();
        long mismatches = 0;
        for (int i = 0; i < r.Length; i++)
        {
            mismatches += r[i].Equals(a[i]) ? 0 : 1;
        }
        metrics = (type == DataType.Double ? ComputeDoubles(r, a, quantile) : Compute(TensorViews.AsFloats(reference), TensorViews.AsFloats(actual), quantile))
            with { Mismatches = mismatches };
        return true;
    }

    /// <summary>Double tensors keep their precision: max |d| and max |ref| in double, the rest from the float kernel.</summary>
    private static ParityMetrics ComputeDoubles(double[] reference, double[] actual, double quantile)
    {
        ParityMetrics m = Compute(Array.ConvertAll(reference, v => (float)v), Array.ConvertAll(actual, v => (float)v), quantile);
        double maxAbs = 0, maxRef = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double r = reference[i], a = actual[i];
            if (double.IsFinite(r))
            {
                maxRef = Math.Max(maxRef, Math.Abs(r));
            }
            if (double.IsFinite(r) && double.IsFinite(a))
            {
                maxAbs = Math.Max(maxAbs, Math.Abs(a - r));
            }
        }
        return m with { MaxAbsError = maxAbs, ReferenceMaxMagnitude = maxRef };
    }

    private static ParityMetrics CompareIntegers(long[] reference, long[] actual, bool unsigned)
    {
        long mismatches = 0;
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double r = unsigned ? (ulong)reference[i] : reference[i];
            maxRef = Math.Max(maxRef, Math.Abs(r));
            if (reference[i] != actual[i])
            {
                mismatches++;
                // In 128 bits, so values that round to the same double still differ by at least 1.
                Int128 d = unsigned ? (Int128)(ulong)actual[i] - (ulong)reference[i] : (Int128)actual[i] - reference[i];
                maxDiff = Math.Max(maxDiff, (double)Int128.Abs(d));
            }
        }
        return Empty with
        {
            Count = reference.Length, Mismatches = mismatches, IsExactType = true, MaxAbsError = maxDiff, ReferenceMaxMagnitude = maxRef,
            CosineSimilarity = mismatches == 0 ? 1 : double.NaN, SnrDb = mismatches == 0 ? double.PositiveInfinity : double.NaN,
        };
    }

    private static long CountDifferingElements(ReadOnlySpan<byte> reference, ReadOnlySpan<byte> actual, long count)
    {
        if (count == 0)
        {
            return 0;
        }
        int width = (int)(reference.Length / count);
        if (width == 0)
        {
            // Sub-byte elements (int4, float4): judge the packed payload as a whole.
            return reference.SequenceEqual(actual) ? 0 : count;
        }
        long differing = 0;
        for (int i = 0; i + width <= reference.Length; i += width)
        {
            differing += reference.Slice(i, width).SequenceEqual(actual.Slice(i, width)) ? 0 : 1;
        }
        return differing;
    }
}
