namespace ModelBridge.Verify.Tests;

/// <summary>The metrics kernel against a straightforward double-precision computation.</summary>
[TestFixture]
public sealed class ParityMetricsTests
{
    private static (float[] R, float[] A) Data(int n, int seed, double noise)
    {
        var rng = new Random(seed);
        var r = new float[n];
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            r[i] = (float)((rng.NextDouble() * 4) - 2);
            a[i] = r[i] + (float)((rng.NextDouble() - 0.5) * noise);
        }
        return (r, a);
    }

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(4096)]
    [TestCase(4097)]
    [TestCase(100_003)]
    public void Matches_a_reference_computation(int n)
    {
        var (r, a) = Data(n, n, 1e-3);
        ParityMetrics m = ParityMetrics.Compute(r, a, 1e-3, 1e-4);
        double maxAbs = 0, sumAbs = 0, sumSq = 0, rr = 0, aa = 0, ra = 0, maxRef = 0, maxRel = 0, ratio = 0;
        long worst = -1, violations = 0;
        var diffs = new double[n];
        for (int i = 0; i < n; i++)
        {
            double d = (double)a[i] - r[i], ad = Math.Abs(d);
            diffs[i] = Math.Abs(a[i] - r[i]);
            if (ad > maxAbs || worst < 0)
            {
                maxAbs = ad;
                worst = i;
            }
            sumAbs += ad;
            sumSq += d * d;
            rr += (double)r[i] * r[i];
            aa += (double)a[i] * a[i];
            ra += (double)r[i] * a[i];
            maxRef = Math.Max(maxRef, Math.Abs(r[i]));
            maxRel = Math.Max(maxRel, ad / Math.Max(Math.Abs(r[i]), ParityMetrics.Tiny));
            double bound = Math.Max(1e-4, 1e-3 * Math.Abs(r[i]));
            violations += ad > bound ? 1 : 0;
            ratio = Math.Max(ratio, ad / bound);
        }
        Array.Sort(diffs);
        double p99 = diffs[(int)Math.Ceiling(0.99 * n) - 1];
        Assert.Multiple(() =>
        {
            Assert.That(m.Count, Is.EqualTo(n));
            Assert.That(m.MaxAbsError, Is.EqualTo(maxAbs).Within(1e-6).Percent);
            Assert.That(m.WorstIndex, Is.EqualTo(worst));
            Assert.That(m.MeanAbsError, Is.EqualTo(sumAbs / n).Within(1e-3).Percent);
            Assert.That(m.Rmse, Is.EqualTo(Math.Sqrt(sumSq / n)).Within(1e-3).Percent);
            Assert.That(m.CosineSimilarity, Is.EqualTo(ra / Math.Sqrt(rr * aa)).Within(1e-6));
            Assert.That(m.SnrDb, Is.EqualTo(10 * Math.Log10(rr / sumSq)).Within(0.01));
            Assert.That(m.ReferenceMaxMagnitude, Is.EqualTo(maxRef));
            Assert.That(m.MaxRelativeError, Is.EqualTo(maxRel).Within(1e-4).Percent);
            Assert.That(m.QuantileAbsError, Is.EqualTo(p99).Within(0.8).Percent, "histogram quantile within 2^-7");
            Assert.That(m.Violations, Is.EqualTo(violations).Within(Math.Max(1, n / 10000)), "float vs double rounding at the bound");
            Assert.That(m.ElementwiseRatio!.Value, Is.EqualTo(ratio).Within(1e-4).Percent);
        });
    }

    [Test]
    public void Identical_tensors_have_zero_error_and_infinite_snr()
    {
        var (r, _) = Data(10_000, 1, 0);
        ParityMetrics m = ParityMetrics.Compute(r, r);
        Assert.That((m.MaxAbsError, m.MeanAbsError, m.QuantileAbsError, m.CosineSimilarity), Is.EqualTo((0.0, 0.0, 0.0, 1.0)));
        Assert.That(m.SnrDb, Is.EqualTo(double.PositiveInfinity));
    }

    [Test]
    public void Non_finite_values_are_counted_and_kept_out_of_the_sums()
    {
        var (r, a) = Data(9000, 2, 1e-4);
        r[10] = float.NaN;
        a[10] = float.NaN; // NaN on both sides is equal
        r[20] = float.PositiveInfinity;
        a[20] = float.PositiveInfinity; // same infinity is equal
        a[5000] = float.NaN; // one-sided
        a[8000] = float.NegativeInfinity; // one-sided
        ParityMetrics m = ParityMetrics.Compute(r, a);
        Assert.Multiple(() =>
        {
            Assert.That(m.ReferenceNaNs, Is.EqualTo(1));
            Assert.That(m.ReferenceInfinities, Is.EqualTo(1));
            Assert.That(m.ActualNaNs, Is.EqualTo(2));
            Assert.That(m.ActualInfinities, Is.EqualTo(2));
            Assert.That(m.NonFiniteMismatches, Is.EqualTo(2));
            Assert.That(m.Count, Is.EqualTo(9000 - 2));
            Assert.That(double.IsFinite(m.MaxAbsError) && m.MaxAbsError < 1e-4, Is.True, m.ToString());
            Assert.That(double.IsFinite(m.Rmse), Is.True);
        });
    }

    [Test]
    public void Overflowing_differences_fall_back_to_double()
    {
        float[] r = [3e38f, -3e38f, 1];
        float[] a = [-3e38f, 3e38f, 1];
        ParityMetrics m = ParityMetrics.Compute(r, a);
        Assert.That(m.MaxAbsError, Is.EqualTo(6e38).Within(1e-3).Percent);
        Assert.That(m.NonFiniteMismatches, Is.Zero);
    }

    [Test]
    public void Empty_and_mismatched_inputs()
    {
        Assert.That(ParityMetrics.Compute([], []).Count, Is.Zero);
        Assert.Throws<ArgumentException>(() => ParityMetrics.Compute([1f], [1f, 2f]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ParityMetrics.Compute([1f], [1f], 0, 0));
    }
}

/// <summary>The named comparers.</summary>
[TestFixture]
public sealed class TensorComparerTests
{
    [Test]
    public void Elementwise_fails_only_where_both_tolerances_are_exceeded()
    {
        float[] r = [0f, 1000f];
        TensorComparer c = TensorComparer.Elementwise(1e-3, 1e-2);
        Assert.That(c.Accepts(c.Measure(r, [0.009f, 1000.9f])), Is.True, "within atol at 0, within rtol at 1000");
        Assert.That(c.Accepts(c.Measure(r, [0.011f, 1000f])), Is.False, "past both at 0");
        Assert.That(c.Accepts(c.Measure(r, [0f, 1001.5f])), Is.False, "past both at 1000");
    }

    [Test]
    public void Relative_to_max_and_cosine()
    {
        float[] r = [10f, 0.001f];
        float[] a = [10f, 0.05f];
        Assert.That(TensorComparer.RelativeToMax(1e-2).Accepts(ParityMetrics.Compute(r, a)), Is.True, "0.049 <= 0.01 * 10");
        Assert.That(TensorComparer.Elementwise(1e-2, 1e-3).Accepts(TensorComparer.Elementwise(1e-2, 1e-3).Measure(r, a)), Is.False);
        Assert.That(TensorComparer.Cosine(0.9999).Accepts(ParityMetrics.Compute(r, a)), Is.True);
        Assert.That(TensorComparer.Cosine(0.9999).Accepts(ParityMetrics.Compute(r, [-10f, 0.001f])), Is.False);
        Assert.That(TensorComparer.Exact.Accepts(ParityMetrics.Compute(r, r)), Is.True);
        Assert.That(TensorComparer.Exact.Accepts(ParityMetrics.Compute(r, a)), Is.False);
    }

    [Test]
    public void A_one_sided_nan_always_fails()
    {
        Assert.That(TensorComparer.Cosine(-1).Accepts(ParityMetrics.Compute([1f, 2f], [1f, float.NaN])), Is.False);
    }

    [Test]
    public void Widening_adds_the_contract()
    {
        Tolerance t = new Tolerance(1e-4, 1e-5).Widen(Rewriting.NumericContract.Approximate(1e-3, 1e-6));
        Assert.That(t.Rtol, Is.EqualTo(1.1e-3).Within(1e-12));
        Assert.That(t.Atol, Is.EqualTo(1.1e-5).Within(1e-12));
        Assert.That(t.CosineFloor, Is.LessThan(0.9999));
        Assert.That(new Tolerance(1e-4, 1e-5).Widen(Rewriting.NumericContract.Exact), Is.EqualTo(new Tolerance(1e-4, 1e-5)));
    }

    [Test]
    public void Integer_tensors_are_compared_exactly_past_float_precision()
    {
        long big = (1L << 40) + 1;
        ParityMetrics same = ParityMetrics.Compare(TensorData.Create<long>([2], [big, 7]), TensorData.Create<long>([2], [big, 7]));
        Assert.That((same.IsExactType, same.Mismatches, same.IsWithin(0)), Is.EqualTo((true, 0L, true)));
        ParityMetrics off = ParityMetrics.Compare(TensorData.Create<long>([2], [big, 7]), TensorData.Create<long>([2], [big + 1, 7]));
        Assert.That(off.Mismatches, Is.EqualTo(1), "a difference float32 could not see");
        Assert.That(off.MaxAbsError, Is.EqualTo(1));
        Assert.That(off.IsWithin(1), Is.False, "integers admit no tolerance");
    }

    [Test]
    public void Verify_judges_integer_tensors_exactly_past_float_precision()
    {
        long big = (1L << 40) + 1;
        (ParityMetrics? off, string? problem) = ParityChecker.Measure(TensorComparer.Exact,
            TensorData.Create<long>([2], [big, 7]), TensorData.Create<long>([2], [big + 1, 7]), null, 0.99);
        Assert.That(problem, Is.Null);
        Assert.That((off!.Mismatches, off.MaxAbsError), Is.EqualTo((1L, 1.0)), "float32 views of the two are equal");
        Assert.That(TensorComparer.Exact.Accepts(off), Is.False);
        (ParityMetrics? same, _) = ParityChecker.Measure(TensorComparer.Exact,
            TensorData.Create<long>([2], [big, 7]), TensorData.Create<long>([2], [big, 7]), null, 0.99);
        Assert.That(TensorComparer.Exact.Accepts(same!), Is.True);
        ulong top = ulong.MaxValue;
        ParityMetrics u = ParityMetrics.Compare(TensorData.Create<ulong>([1], [top]), TensorData.Create<ulong>([1], [top - 1]));
        Assert.That(u.MaxAbsError, Is.EqualTo(1), "unsigned values that round to the same double");
    }

    [Test]
    public void Float_tensors_report_relative_to_max_and_mismatches()
    {
        ParityMetrics m = ParityMetrics.Compare(TensorData.Create<float>([3], [1f, -4f, 2f]), TensorData.Create<float>([3], [1f, -4.004f, 2f]));
        Assert.That(m.RelativeToMax, Is.EqualTo(0.004 / 4).Within(1e-6));
        Assert.That(m.Mismatches, Is.EqualTo(1));
        Assert.That(m.IsWithin(2e-3), Is.True);
        Assert.That(m.IsWithin(5e-4), Is.False);
        ParityMetrics d = ParityMetrics.Compare(TensorData.Create<double>([1], [1e-12 + 1]), TensorData.Create<double>([1], [1]));
        Assert.That(d.MaxAbsError, Is.EqualTo(1e-12).Within(1e-15), "doubles keep their precision");
    }

    [Test]
    public void Tensors_of_different_type_or_shape_are_not_compared()
    {
        Assert.That(ParityMetrics.TryCompare(TensorData.Create<float>([2], [1f, 2f]), TensorData.Create<float>([1, 2], [1f, 2f]), out _, out string? why), Is.False);
        Assert.That(why, Does.Contain("shapes differ"));
        Assert.That(() => ParityMetrics.Compare(TensorData.Create<float>([1], [1f]), TensorData.Create<int>([1], [1])),
            Throws.ArgumentException.With.Message.Contains("element types differ"));
    }

    [Test]
    public void An_approximate_contract_is_judged_against_the_tensors_scale_where_terms_cancel()
    {
        // A reordered sum moves a near-zero result by a fraction of its terms' size (here 1e-5 of 300),
        // far beyond rtol·|ref| at that element.
        float[] r = [300f, -250f, 0.01f];
        float[] a = [300f, -250f, 0.01f + 3e-3f];
        Assert.That(TensorComparer.Elementwise(1e-4, 1e-5).Accepts(TensorComparer.Elementwise(1e-4, 1e-5).Measure(r, a)), Is.False);
        TensorComparer scaled = TensorComparer.Elementwise(1e-4, 1e-5, 1e-5);
        Assert.That(scaled.Accepts(scaled.Measure(r, a)), Is.True, "3e-3 ≤ 1e-5 + 1e-5·300");
        float[] off = [300f, -250f, 0.01f + 4e-3f];
        Assert.That(scaled.Accepts(scaled.Measure(r, off)), Is.False, "4e-3 > 1e-5 + 1e-5·300");
        Tolerance widened = new Tolerance(1e-4, 1e-5).Widen(Rewriting.NumericContract.Approximate(1e-5, 0));
        Assert.That(widened.ScaledAtol, Is.EqualTo(1e-5));
        Assert.That(new Tolerance(1e-4, 1e-5).Widen(Rewriting.NumericContract.Exact).ScaledAtol, Is.Zero, "exact tensors get no scaled allowance");
        Tolerance measured = new Tolerance(1e-4, 1e-5).Widen(Rewriting.NumericContract.Measured(1e-2, 0.5));
        Assert.That(measured.ScaledAtol, Is.Zero, "a measured budget's atol is already the error at this tensor");
        Assert.That(measured.Atol, Is.EqualTo(1e-5 + 0.5));
        Assert.That(measured.Rtol, Is.EqualTo(1e-4 + 1e-2));
    }
}
