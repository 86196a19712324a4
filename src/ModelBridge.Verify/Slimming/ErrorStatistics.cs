namespace ModelBridge.Verify.Slimming;

/// <summary>
/// Error of one tensor against its reference, accumulated over samples: the largest absolute
/// difference and reference magnitude, and the sums behind a normalised RMS error.
/// </summary>
public sealed class ErrorStatistics
{
    private double _sumSquaredError;
    private double _sum;
    private double _sumSquares;
    private long _count;

    /// <summary>max |actual − reference| over every element seen.</summary>
    public double MaxAbsError { get; private set; }

    /// <summary>max |reference| over every element seen.</summary>
    public double MaxReference { get; private set; }

    /// <summary>Elements seen.</summary>
    public long Count => _count;

    /// <summary>
    /// √(Σ(actual − reference)²) / √(Σ(reference − mean)²): the RMS error relative to the reference's
    /// standard deviation (0 when both are exact; the RMS error relative to the RMS reference when the
    /// reference is constant).
    /// </summary>
    public double NormalizedRmsError
    {
        get
        {
            if (_sumSquaredError == 0)
            {
                return 0;
            }
            double variance = _sumSquares - (_sum * _sum / _count);
            double scale = variance > 1e-30 * _sumSquares && variance > 0 ? variance : _sumSquares;
            return scale > 0 ? Math.Sqrt(_sumSquaredError / scale) : double.PositiveInfinity;
        }
    }

    /// <summary>√(Σ(actual − reference)²) / √(Σ reference²).</summary>
    public double RelativeRmsError => _sumSquaredError == 0 ? 0 : _sumSquares > 0 ? Math.Sqrt(_sumSquaredError / _sumSquares) : double.PositiveInfinity;

    /// <summary>max |actual − reference| / max |reference| (verify's relative-to-max error).</summary>
    public double RelativeToMax => MaxAbsError == 0 ? 0 : MaxReference > 0 ? MaxAbsError / MaxReference : double.PositiveInfinity;

    /// <summary>Adds one sample of the tensor.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public void Add(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual)
    {
        if (reference.Length != actual.Length)
        {
            throw new ArgumentException($"The tensors have {reference.Length} and {actual.Length} elements.", nameof(actual));
        }
        for (int i = 0; i < reference.Length; i++)
        {
            double r = reference[i], d = actual[i] - r;
            if (double.IsNaN(d))
            {
                d = double.IsNaN(r) && double.IsNaN(actual[i]) ? 0 : double.PositiveInfinity;
            }
            _sumSquaredError += d * d;
            _sum += r;
            _sumSquares += r * r;
            MaxAbsError = Math.Max(MaxAbsError, Math.Abs(d));
            MaxReference = Math.Max(MaxReference, Math.Abs(r));
        }
        _count += reference.Length;
    }
}
