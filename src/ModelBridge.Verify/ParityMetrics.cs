using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace ModelBridge.Verify;

/// <summary>
/// Error statistics of an actual tensor against a reference tensor of the same length, computed in
/// one streaming sweep by <see cref="Compute(ReadOnlySpan{float}, ReadOnlySpan{float}, double)"/>.
/// </summary>
/// <remarks>
/// <para>
/// With d = actual − reference over the <see cref="Count"/> positions where both sides are finite:
/// <see cref="MaxAbsError"/> = max|d|, <see cref="MeanAbsError"/> = mean|d|, <see cref="Rmse"/> =
/// √mean(d²), <see cref="MaxRelativeError"/> = max |d|/max(|ref|, <see cref="Tiny"/>),
/// <see cref="CosineSimilarity"/> = ref·act / (‖ref‖‖act‖) and <see cref="SnrDb"/> =
/// 10·log10(Σref² / Σd²). Positions where both sides are NaN, or hold the same infinity, count as equal;
/// a non-finite value on one side only is a <see cref="NonFiniteMismatches">non-finite mismatch</see>
/// and is left out of the sums.
/// </para>
/// <para>
/// <see cref="QuantileAbsError"/> comes from a histogram of |d| keyed by the top 16 bits of the float
/// (sign, exponent and 7 mantissa bits), interpolated inside the bucket: it is within 2⁻⁷ (0.8%)
/// relative of the exact order statistic, with no sort.
/// </para>
/// <para>
/// The kernel works on blocks of <see cref="BlockSize"/> elements: one fused <see cref="Vector{T}"/>
/// sweep accumulates every sum and maximum in vector lanes (twelve separate
/// <see cref="TensorPrimitives"/> sweeps measured about three times slower), then the histogram is filled
/// from the stored |d| while it is still in L1 cache. Per-block float sums are added into doubles. Blocks
/// holding a non-finite value (or whose float sums overflow) are redone in scalar double arithmetic. Scratch buffers come from
/// <see cref="ArrayPool{T}"/>; nothing is allocated per element.
/// </para>
/// </remarks>
public sealed partial record ParityMetrics
{
    /// <summary>Floor under |ref| in relative errors, so zero references do not divide by zero.</summary>
    public const double Tiny = 1e-6;

    /// <summary>Elements per block of the kernel.</summary>
    public const int BlockSize = 4096;

    private const int Buckets = 1 << 15;

    /// <summary>Elements compared (positions where both sides are finite, plus equal non-finite positions).</summary>
    public long Count { get; init; }

    /// <summary>max |actual − reference|.</summary>
    public double MaxAbsError { get; init; }

    /// <summary>mean |actual − reference|.</summary>
    public double MeanAbsError { get; init; }

    /// <summary>Root mean square of actual − reference.</summary>
    public double Rmse { get; init; }

    /// <summary>max |actual − reference| / max(|reference|, <see cref="Tiny"/>).</summary>
    public double MaxRelativeError { get; init; }

    /// <summary>The <see cref="QuantileLevel"/> quantile of |actual − reference| (histogram, within 0.8%).</summary>
    public double QuantileAbsError { get; init; }

    /// <summary>The level of <see cref="QuantileAbsError"/> (0.99 by default).</summary>
    public double QuantileLevel { get; init; }

    /// <summary>Cosine similarity of the two tensors as vectors (1 when both are zero).</summary>
    public double CosineSimilarity { get; init; }

    /// <summary>Signal-to-noise ratio 10·log10(Σref²/Σd²) in dB; +∞ when identical.</summary>
    public double SnrDb { get; init; }

    /// <summary>max |reference| over the finite positions.</summary>
    public double ReferenceMaxMagnitude { get; init; }

    /// <summary>NaNs in the reference.</summary>
    public long ReferenceNaNs { get; init; }

    /// <summary>Infinities in the reference.</summary>
    public long ReferenceInfinities { get; init; }

    /// <summary>NaNs in the actual tensor.</summary>
    public long ActualNaNs { get; init; }

    /// <summary>Infinities in the actual tensor.</summary>
    public long ActualInfinities { get; init; }

    /// <summary>Positions where exactly one side is non-finite or the sides hold different non-finite values.</summary>
    public long NonFiniteMismatches { get; init; }

    /// <summary>Flat index of the element with the largest |actual − reference| (−1 when empty).</summary>
    public long WorstIndex { get; init; } = -1;

    /// <summary>Reference value at <see cref="WorstIndex"/>.</summary>
    public double WorstReference { get; init; }

    /// <summary>Actual value at <see cref="WorstIndex"/>.</summary>
    public double WorstActual { get; init; }

    /// <summary>
    /// With elementwise bounds: max over elements of |d| / max(atol, rtol·|ref|); the tensor meets the
    /// bounds when this is at most 1. Null when computed without bounds.
    /// </summary>
    public double? ElementwiseRatio { get; init; }

    /// <summary>With elementwise bounds: elements where |d| &gt; atol and |d| &gt; rtol·|ref|. Null without bounds.</summary>
    public long? Violations { get; init; }

    /// <summary><see cref="MaxAbsError"/> / max(<see cref="ReferenceMaxMagnitude"/>, <see cref="Tiny"/>).</summary>
    public double RelativeToMax => MaxAbsError / Math.Max(ReferenceMaxMagnitude, Tiny);

    /// <summary>Metrics of two identical empty tensors.</summary>
    public static ParityMetrics Empty { get; } = new() { CosineSimilarity = 1, SnrDb = double.PositiveInfinity, QuantileLevel = 0.99 };

    /// <summary>Computes the metrics of <paramref name="actual"/> against <paramref name="reference"/>.</summary>
    /// <param name="reference">The reference values.</param>
    /// <param name="actual">The values under test; same length.</param>
    /// <param name="quantile">Level of <see cref="QuantileAbsError"/>, in [0, 1].</param>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static ParityMetrics Compute(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual, double quantile = 0.99) =>
        Compute(reference, actual, quantile, null);

    /// <summary>
    /// Computes the metrics and also <see cref="ElementwiseRatio"/> and <see cref="Violations"/> for the
    /// elementwise bounds |d| ≤ atol or |d| ≤ rtol·|ref|.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A tolerance is negative or both are zero.</exception>
    public static ParityMetrics Compute(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual, double rtol, double atol, double quantile = 0.99)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rtol);
        ArgumentOutOfRangeException.ThrowIfNegative(atol);
        if (rtol == 0 && atol == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(atol), "Elementwise bounds need rtol or atol above zero; use an exact comparison instead.");
        }
        // A floor under atol keeps max(atol, rtol·|ref|) positive, so the ratio never divides 0 by 0.
        return Compute(reference, actual, quantile, ((float)rtol, MathF.Max((float)atol, 1e-30f)));
    }

    private static ParityMetrics Compute(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual, double quantile, (float Rtol, float Atol)? bounds)
    {
        if (reference.Length != actual.Length)
        {
            throw new ArgumentException($"Lengths differ: {reference.Length} reference vs {actual.Length} actual elements.", nameof(actual));
        }
        if (quantile is < 0 or > 1 || double.IsNaN(quantile))
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "The quantile level must be in [0, 1].");
        }
        float[] scratch = ArrayPool<float>.Shared.Rent(BlockSize);
        // The histogram is kept all-zero between calls and only the buckets used are cleared afterwards,
        // so a small tensor does not pay for clearing and scanning 256 KiB.
        int[] histogram = t_histogram ?? new int[Buckets * 2];
        t_histogram = null;
        var acc = new Accumulator { Bounds = bounds, Histogram = histogram, WorstIndex = -1, MinBucket = Buckets, MaxBucket = 0 };
        try
        {
            for (int start = 0; start < reference.Length; start += BlockSize)
            {
                int n = Math.Min(BlockSize, reference.Length - start);
                acc.Block(reference.Slice(start, n), actual.Slice(start, n), start, scratch.AsSpan(0, n));
            }
            ParityMetrics result = acc.Finish(quantile, reference, actual);
            acc.ClearHistogram();
            t_histogram = histogram;
            return result;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    [ThreadStatic]
    private static int[]? t_histogram;

    private static int Bucket(float absValue) => (int)(BitConverter.SingleToUInt32Bits(absValue) >> 16);

    /// <summary>Running sums over the blocks.</summary>
    private struct Accumulator
    {
        public (float Rtol, float Atol)? Bounds;
        public int[] Histogram;
        public long Count, NonFiniteMismatches, RefNaN, RefInf, ActNaN, ActInf, Violations, WorstIndex;
        public int MinBucket, MaxBucket;
        public double SumAbs, SumSq, SumRefSq, SumActSq, Dot, MaxAbs, MaxRef, MaxRel, MaxRatio;

        public void Block(ReadOnlySpan<float> r, ReadOnlySpan<float> a, long offset, Span<float> d)
        {
            if (!TryFastBlock(r, a, offset, d))
            {
                ScalarBlock(r, a, offset);
            }
        }

        /// <summary>
        /// The SIMD path: one fused sweep over the block accumulating every sum and maximum in vector
        /// lanes, then the histogram over the stored |d|. False (with nothing accumulated) when a value
        /// is non-finite or a float sum overflowed, so the block is redone in double.
        /// </summary>
        private bool TryFastBlock(ReadOnlySpan<float> r, ReadOnlySpan<float> a, long offset, Span<float> d)
        {
            int width = Vector<float>.Count;
            int vectorEnd = Vector.IsHardwareAccelerated ? r.Length - (r.Length % width) : 0;
            ReadOnlySpan<Vector<float>> vr = MemoryMarshal.Cast<float, Vector<float>>(r[..vectorEnd]);
            ReadOnlySpan<Vector<float>> va = MemoryMarshal.Cast<float, Vector<float>>(a[..vectorEnd]);
            Span<Vector<float>> vd = MemoryMarshal.Cast<float, Vector<float>>(d[..vectorEnd]);
            Vector<float> sumAbs = default, sumSq = default, refSq = default, actSq = default, dot = default;
            Vector<float> maxAbs = default, maxRef = default, maxRel = default, maxRatio = default;
            var minNonZero = new Vector<float>(float.MaxValue);
            Vector<int> hits = default;
            var tiny = new Vector<float>((float)Tiny);
            (float rtol, float atol) = Bounds ?? (0f, 0f);
            var vRtol = new Vector<float>(rtol);
            var vAtol = new Vector<float>(atol);
            bool bounded = Bounds is not null;
            for (int k = 0; k < vr.Length; k++)
            {
                Vector<float> x = vr[k], y = va[k];
                Vector<float> diff = y - x;
                Vector<float> ad = Vector.Abs(diff);
                Vector<float> ax = Vector.Abs(x);
                vd[k] = ad;
                sumAbs += ad;
                sumSq += diff * diff;
                refSq += x * x;
                actSq += y * y;
                dot += x * y;
                maxAbs = Vector.Max(maxAbs, ad);
                minNonZero = Vector.Min(minNonZero, Vector.ConditionalSelect(Vector.Equals(ad, Vector<float>.Zero), new Vector<float>(float.MaxValue), ad));
                maxRef = Vector.Max(maxRef, ax);
                maxRel = Vector.Max(maxRel, ad / Vector.Max(ax, tiny));
                if (bounded)
                {
                    // bound = max(atol, rtol·|ref|): |d| > bound exactly where both tolerances are exceeded.
                    Vector<float> bound = Vector.Max(ax * vRtol, vAtol);
                    hits -= Vector.GreaterThan(ad, bound);
                    maxRatio = Vector.Max(maxRatio, ad / bound);
                }
            }
            float bSumAbs = Vector.Sum(sumAbs), bSumSq = Vector.Sum(sumSq), bRefSq = Vector.Sum(refSq), bActSq = Vector.Sum(actSq), bDot = Vector.Sum(dot);
            float bMinNonZero = -HorizontalMax(-minNonZero);
            float bMaxAbs = HorizontalMax(maxAbs), bMaxRef = HorizontalMax(maxRef), bMaxRel = HorizontalMax(maxRel), bMaxRatio = HorizontalMax(maxRatio);
            long bHits = Vector.Sum(hits);
            for (int i = vectorEnd; i < r.Length; i++)
            {
                float x = r[i], y = a[i], diff = y - x, ad = MathF.Abs(diff), ax = MathF.Abs(x);
                d[i] = ad;
                bSumAbs += ad;
                bSumSq += diff * diff;
                bRefSq += x * x;
                bActSq += y * y;
                bDot += x * y;
                bMaxAbs = MathF.Max(bMaxAbs, ad);
                bMinNonZero = ad > 0 ? MathF.Min(bMinNonZero, ad) : bMinNonZero;
                bMaxRef = MathF.Max(bMaxRef, ax);
                bMaxRel = MathF.Max(bMaxRel, ad / MathF.Max(ax, (float)Tiny));
                if (bounded)
                {
                    float bound = MathF.Max(ax * rtol, atol);
                    bHits += ad > bound ? 1 : 0;
                    bMaxRatio = MathF.Max(bMaxRatio, ad / bound);
                }
            }
            // A NaN or infinity anywhere (in either input, or from an overflowing difference) makes a sum non-finite.
            if (!float.IsFinite(bSumAbs) || !float.IsFinite(bSumSq) || !float.IsFinite(bRefSq) || !float.IsFinite(bActSq) || !float.IsFinite(bDot))
            {
                return false;
            }
            if (bMaxAbs > MaxAbs || WorstIndex < 0)
            {
                MaxAbs = bMaxAbs;
                WorstIndex = offset + TensorPrimitives.IndexOfMax((ReadOnlySpan<float>)d);
            }
            SumAbs += bSumAbs;
            SumSq += bSumSq;
            SumRefSq += bRefSq;
            SumActSq += bActSq;
            Dot += bDot;
            MaxRef = Math.Max(MaxRef, bMaxRef);
            MaxRel = Math.Max(MaxRel, bMaxRel);
            MaxRatio = Math.Max(MaxRatio, bMaxRatio);
            Violations += bHits;
            Count += r.Length;
            MinBucket = Math.Min(MinBucket, Bucket(bMinNonZero));
            MaxBucket = Math.Max(MaxBucket, Bucket(bMaxAbs));
            AddToHistogram(d);
            return true;
        }

        private static float HorizontalMax(Vector<float> v)
        {
            float m = v[0];
            for (int i = 1; i < Vector<float>.Count; i++)
            {
                m = MathF.Max(m, v[i]);
            }
            return m;
        }

        private readonly void AddToHistogram(ReadOnlySpan<float> absDiff)
        {
            // Two interleaved histograms halve the store-to-load stalls when neighbours share a bucket.
            ReadOnlySpan<uint> bits = MemoryMarshal.Cast<float, uint>(absDiff);
            Span<int> h0 = Histogram.AsSpan(0, Buckets);
            Span<int> h1 = Histogram.AsSpan(Buckets, Buckets);
            int i = 0;
            for (; i + 1 < bits.Length; i += 2)
            {
                h0[(int)(bits[i] >> 16)]++;
                h1[(int)(bits[i + 1] >> 16)]++;
            }
            if (i < bits.Length)
            {
                h0[(int)(bits[i] >> 16)]++;
            }
        }

        private void ScalarBlock(ReadOnlySpan<float> r, ReadOnlySpan<float> a, long offset)
        {
            for (int i = 0; i < r.Length; i++)
            {
                float rf = r[i], af = a[i];
                bool rFinite = float.IsFinite(rf), aFinite = float.IsFinite(af);
                RefNaN += float.IsNaN(rf) ? 1 : 0;
                RefInf += float.IsInfinity(rf) ? 1 : 0;
                ActNaN += float.IsNaN(af) ? 1 : 0;
                ActInf += float.IsInfinity(af) ? 1 : 0;
                if (!rFinite || !aFinite)
                {
                    if (rf.Equals(af))
                    {
                        Count++;
                        Histogram[0]++;
                    }
                    else
                    {
                        NonFiniteMismatches++;
                    }
                    MaxRef = rFinite ? Math.Max(MaxRef, Math.Abs(rf)) : MaxRef;
                    continue;
                }
                double rv = rf, av = af, dv = av - rv, ad = Math.Abs(dv);
                Count++;
                SumAbs += ad;
                SumSq += dv * dv;
                SumRefSq += rv * rv;
                SumActSq += av * av;
                Dot += rv * av;
                MaxRef = Math.Max(MaxRef, Math.Abs(rv));
                MaxRel = Math.Max(MaxRel, ad / Math.Max(Math.Abs(rv), Tiny));
                if (ad > MaxAbs || WorstIndex < 0)
                {
                    MaxAbs = ad;
                    WorstIndex = offset + i;
                }
                int bucket = Bucket((float)Math.Min(ad, float.MaxValue));
                Histogram[bucket]++;
                MinBucket = bucket > 0 ? Math.Min(MinBucket, bucket) : MinBucket;
                MaxBucket = Math.Max(MaxBucket, bucket);
                if (Bounds is { } b)
                {
                    double bound = Math.Max(b.Atol, b.Rtol * Math.Abs(rv));
                    Violations += ad > bound ? 1 : 0;
                    MaxRatio = Math.Max(MaxRatio, ad / bound);
                }
            }
        }

        public readonly ParityMetrics Finish(double quantile, ReadOnlySpan<float> reference, ReadOnlySpan<float> actual)
        {
            double cosine = SumRefSq == 0 && SumActSq == 0 ? 1
                : SumRefSq == 0 || SumActSq == 0 ? 0
                : Math.Clamp(Dot / Math.Sqrt(SumRefSq * SumActSq), -1, 1);
            double snr = SumSq == 0 ? double.PositiveInfinity : 10 * Math.Log10(SumRefSq / SumSq);
            return new ParityMetrics
            {
                Count = Count,
                MaxAbsError = MaxAbs,
                MeanAbsError = Count == 0 ? 0 : SumAbs / Count,
                Rmse = Count == 0 ? 0 : Math.Sqrt(SumSq / Count),
                MaxRelativeError = MaxRel,
                QuantileAbsError = Math.Min(Quantile(quantile), MaxAbs),
                QuantileLevel = quantile,
                CosineSimilarity = cosine,
                SnrDb = snr,
                ReferenceMaxMagnitude = MaxRef,
                ReferenceNaNs = RefNaN,
                ReferenceInfinities = RefInf,
                ActualNaNs = ActNaN,
                ActualInfinities = ActInf,
                NonFiniteMismatches = NonFiniteMismatches,
                WorstIndex = WorstIndex,
                WorstReference = WorstIndex >= 0 ? reference[(int)WorstIndex] : double.NaN,
                WorstActual = WorstIndex >= 0 ? actual[(int)WorstIndex] : double.NaN,
                ElementwiseRatio = Bounds is null ? null : MaxRatio,
                Violations = Bounds is null ? null : Violations,
            };
        }

        /// <summary>Zeroes the buckets used (bucket 0 and MinBucket..MaxBucket of both halves).</summary>
        public readonly void ClearHistogram()
        {
            Histogram[0] = 0;
            Histogram[Buckets] = 0;
            if (MinBucket <= MaxBucket)
            {
                Array.Clear(Histogram, MinBucket, MaxBucket - MinBucket + 1);
                Array.Clear(Histogram, Buckets + MinBucket, MaxBucket - MinBucket + 1);
            }
        }

        /// <summary>The order statistic of rank ⌈q·n⌉ from the histogram, interpolated linearly inside its bucket.</summary>
        private readonly double Quantile(double q)
        {
            long total = Count;
            if (total == 0)
            {
                return 0;
            }
            long rank = Math.Max(1, (long)Math.Ceiling(q * total));
            long seen = 0;
            for (int k = 0; k <= MaxBucket; k = k == 0 ? Math.Max(1, MinBucket) : k + 1)
            {
                long c = (long)Histogram[k] + Histogram[Buckets + k];
                if (c == 0 || seen + c < rank)
                {
                    seen += c;
                    continue;
                }
                double lo = BitConverter.UInt32BitsToSingle((uint)k << 16);
                double hi = k + 1 < 0x7F80 ? BitConverter.UInt32BitsToSingle((uint)(k + 1) << 16) : lo;
                double fraction = (rank - seen - 0.5) / c;
                return lo + ((hi - lo) * fraction);
            }
            return MaxAbs;
        }
    }
}
