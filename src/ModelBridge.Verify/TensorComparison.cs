using ModelBridge.Ir;

namespace ModelBridge.Verify;

/// <summary>
/// How far an actual tensor is from a reference: the largest absolute difference, the largest
/// reference magnitude, and their ratio.
/// </summary>
/// <remarks>
/// <para>
/// Floating-point tensors are compared as doubles. Positions where both are NaN, or both hold
/// the same infinity, count as equal; a NaN or infinity on one side only is a
/// <see cref="NonFiniteMismatches">non-finite mismatch</see>. <see cref="MaxAbsReference"/>
/// ignores non-finite reference values.
/// </para>
/// <para>
/// Integer and bool tensors are compared exactly (<see cref="MaxAbsDiff"/> is still reported).
/// Other types (complex, float8, 4-bit) are compared byte for byte.
/// </para>
/// </remarks>
public sealed record TensorComparison
{
    /// <summary>The floor under <see cref="MaxAbsReference"/> in <see cref="RelativeToMax"/>, so all-zero references do not divide by zero.</summary>
    public const double Tiny = 1e-6;

    /// <summary>Element types are equal.</summary>
    public required bool TypesMatch { get; init; }

    /// <summary>Dimensions are equal.</summary>
    public required bool ShapesMatch { get; init; }

    /// <summary>Elements compared (0 when the types or shapes differ).</summary>
    public required long Count { get; init; }

    /// <summary>Elements that differ at all (after NaN/infinity matching).</summary>
    public required long Mismatches { get; init; }

    /// <summary>Positions where exactly one side is NaN, or the sides hold different non-finite values.</summary>
    public required long NonFiniteMismatches { get; init; }

    /// <summary>max |actual - reference| over the finite positions.</summary>
    public required double MaxAbsDiff { get; init; }

    /// <summary>max |reference| over the finite positions.</summary>
    public required double MaxAbsReference { get; init; }

    /// <summary>Whether the tensors were compared exactly (integer, bool and byte-compared types).</summary>
    public required bool IsExactType { get; init; }

    /// <summary><see cref="MaxAbsDiff"/> / max(<see cref="MaxAbsReference"/>, <see cref="Tiny"/>).</summary>
    public double RelativeToMax => MaxAbsDiff / Math.Max(MaxAbsReference, Tiny);

    /// <summary>Same type, same shape, no differing element.</summary>
    public bool IsExactMatch => TypesMatch && ShapesMatch && Mismatches == 0;

    /// <summary>
    /// True when the tensors agree: same type and shape, no non-finite mismatch, and either
    /// <see cref="RelativeToMax"/> is at most <paramref name="relativeTolerance"/> (floating-point)
    /// or every element is equal (other types).
    /// </summary>
    public bool IsWithin(double relativeTolerance)
    {
        if (!TypesMatch || !ShapesMatch)
        {
            return false;
        }
        if (IsExactType)
        {
            return Mismatches == 0;
        }
        return NonFiniteMismatches == 0 && RelativeToMax <= relativeTolerance;
    }

    /// <summary>Compares <paramref name="actual"/> to <paramref name="reference"/>.</summary>
    public static TensorComparison Compare(TensorData reference, TensorData actual)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(actual);
        bool typesMatch = reference.ElementType == actual.ElementType;
        bool shapesMatch = reference.Dims.AsSpan().SequenceEqual(actual.Dims.AsSpan());
        bool exactType = !IsComparedAsFloat(reference.ElementType);
        if (!typesMatch || !shapesMatch)
        {
            return new TensorComparison
            {
                TypesMatch = typesMatch, ShapesMatch = shapesMatch, IsExactType = exactType, Count = 0, Mismatches = 0,
                NonFiniteMismatches = 0, MaxAbsDiff = double.NaN, MaxAbsReference = double.NaN,
            };
        }
        if (DataTypes.IsIntegerOrBool(reference.ElementType))
        {
            return CompareIntegers(reference.ToInt64Array(), actual.ToInt64Array(), reference.ElementType == DataType.UInt64);
        }
        if (exactType)
        {
            return CompareBytes(reference.Bytes.Span, actual.Bytes.Span, reference.ElementCount);
        }
        return Compare(reference.ToDoubleArray(), actual.ToDoubleArray());
    }

    /// <summary>Compares two float sequences of equal length.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static TensorComparison Compare(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual)
    {
        if (reference.Length != actual.Length)
        {
            throw new ArgumentException($"Lengths differ: {reference.Length} reference vs {actual.Length} actual elements.", nameof(actual));
        }
        var r = new double[reference.Length];
        var a = new double[actual.Length];
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = reference[i];
            a[i] = actual[i];
        }
        return Compare(r, a);
    }

    /// <summary>Compares two double sequences of equal length.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static TensorComparison Compare(ReadOnlySpan<double> reference, ReadOnlySpan<double> actual)
    {
        if (reference.Length != actual.Length)
        {
            throw new ArgumentException($"Lengths differ: {reference.Length} reference vs {actual.Length} actual elements.", nameof(actual));
        }
        long mismatches = 0, nonFinite = 0;
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double r = reference[i], a = actual[i];
            if (r.Equals(a))
            {
                // Equal values, both NaN, or the same infinity.
                maxRef = double.IsFinite(r) ? Math.Max(maxRef, Math.Abs(r)) : maxRef;
                continue;
            }
            mismatches++;
            if (!double.IsFinite(r) || !double.IsFinite(a))
            {
                nonFinite++;
                maxRef = double.IsFinite(r) ? Math.Max(maxRef, Math.Abs(r)) : maxRef;
                continue;
            }
            maxRef = Math.Max(maxRef, Math.Abs(r));
            maxDiff = Math.Max(maxDiff, Math.Abs(a - r));
        }
        return new TensorComparison
        {
            TypesMatch = true, ShapesMatch = true, IsExactType = false, Count = reference.Length, Mismatches = mismatches,
            NonFiniteMismatches = nonFinite, MaxAbsDiff = maxDiff, MaxAbsReference = maxRef,
        };
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        if (!TypesMatch || !ShapesMatch)
        {
            return TypesMatch ? "shapes differ" : "element types differ";
        }
        return $"max|d|={MaxAbsDiff:G4} max|ref|={MaxAbsReference:G4} rel={RelativeToMax:G4} mismatches={Mismatches}/{Count}"
            + (NonFiniteMismatches > 0 ? $" non-finite={NonFiniteMismatches}" : "");
    }

    private static bool IsComparedAsFloat(DataType type) => type is DataType.Float or DataType.Double or DataType.Float16 or DataType.BFloat16;

    private static TensorComparison CompareIntegers(long[] reference, long[] actual, bool unsigned)
    {
        long mismatches = 0;
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double r = unsigned ? (ulong)reference[i] : reference[i];
            double a = unsigned ? (ulong)actual[i] : actual[i];
            maxRef = Math.Max(maxRef, Math.Abs(r));
            if (reference[i] != actual[i])
            {
                mismatches++;
                maxDiff = Math.Max(maxDiff, Math.Abs(a - r));
            }
        }
        return new TensorComparison
        {
            TypesMatch = true, ShapesMatch = true, IsExactType = true, Count = reference.Length, Mismatches = mismatches,
            NonFiniteMismatches = 0, MaxAbsDiff = maxDiff, MaxAbsReference = maxRef,
        };
    }

    private static TensorComparison CompareBytes(ReadOnlySpan<byte> reference, ReadOnlySpan<byte> actual, long count)
    {
        long mismatches = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            mismatches += reference[i] != actual[i] ? 1 : 0;
        }
        return new TensorComparison
        {
            TypesMatch = true, ShapesMatch = true, IsExactType = true, Count = count, Mismatches = mismatches,
            NonFiniteMismatches = 0, MaxAbsDiff = mismatches == 0 ? 0 : double.NaN, MaxAbsReference = double.NaN,
        };
    }
}
