using MathNet.Numerics.LinearAlgebra;

namespace ModelBridge.Slimming;

/// <summary>
/// Moments of pairs of input patches at the same positions: x from the original model and x' from the
/// model with the layers upstream already slimmed, for refitting a layer so that its output on x'
/// matches the original's on x (<see cref="ConvFitter.Refit"/>; the "asymmetric" reconstruction of
/// Zhang et al. 2015).
/// </summary>
/// <remarks>Sums in double precision: Σx, Σx', Σx'x'ᵀ and Σxx'ᵀ; positions sampled as <see cref="PatchMoments"/> samples them.</remarks>
internal sealed class JointPatchMoments
{
    private readonly Matrix<double> _outerActual;
    private readonly Matrix<double> _outerCross;
    private readonly double[] _sumReference;
    private readonly double[] _sumActual;

    /// <summary>Creates empty moments for patches of <paramref name="dimension"/> values.</summary>
    public JointPatchMoments(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        Dimension = dimension;
        _outerActual = Matrix<double>.Build.Dense(dimension, dimension);
        _outerCross = Matrix<double>.Build.Dense(dimension, dimension);
        _sumReference = new double[dimension];
        _sumActual = new double[dimension];
    }

    /// <summary>D.</summary>
    public int Dimension { get; }

    /// <summary>Patch pairs accumulated.</summary>
    public long Count { get; private set; }

    /// <summary>Adds the patch pairs of up to <paramref name="maxPositions"/> sampled output positions per batch item.</summary>
    /// <param name="layer">The layer.</param>
    /// <param name="site">Which of its convs read the activations.</param>
    /// <param name="reference">The original model's activation at the conv's input (NCHW).</param>
    /// <param name="actual">The slimmed model's activation there.</param>
    /// <param name="maxPositions">Positions sampled per batch item.</param>
    /// <param name="seed">Seed of the sampler.</param>
    /// <exception cref="ArgumentException">The activations do not match the site.</exception>
    public void Add(ConvLayer layer, ConvSite site, ReadOnlySpan<float> reference, ReadOnlySpan<float> actual, int maxPositions, int seed)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(site);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPositions, 1);
        long plane = site.InputHeight * site.InputWidth;
        long size = site.Batch * layer.InputChannels * plane;
        if (layer.PatchSize != Dimension || reference.Length != size || actual.Length != size)
        {
            throw new ArgumentException($"The activations ({reference.Length}, {actual.Length} values) do not match site '{site.Node}' ({size}) or the patch size {Dimension}.", nameof(actual));
        }
        var rng = new Random(seed);
        int positions = checked((int)(site.OutputHeight * site.OutputWidth));
        int item = (int)(layer.InputChannels * plane);
        for (long b = 0; b < site.Batch; b++)
        {
            int[] chosen = PatchMoments.Sample(positions, maxPositions, rng);
            var x = Matrix<double>.Build.Dense(chosen.Length, Dimension);
            var y = Matrix<double>.Build.Dense(chosen.Length, Dimension);
            for (int row = 0; row < chosen.Length; row++)
            {
                PatchMoments.FillPatch(layer, site, reference.Slice((int)b * item, item), chosen[row], x, row);
                PatchMoments.FillPatch(layer, site, actual.Slice((int)b * item, item), chosen[row], y, row);
            }
            _outerActual.Add(y.TransposeThisAndMultiply(y), _outerActual);
            _outerCross.Add(x.TransposeThisAndMultiply(y), _outerCross);
            for (int row = 0; row < chosen.Length; row++)
            {
                for (int d = 0; d < Dimension; d++)
                {
                    _sumReference[d] += x[row, d];
                    _sumActual[d] += y[row, d];
                }
            }
            Count += chosen.Length;
        }
    }

    /// <summary>E[x] (original).</summary>
    internal double[] MeanReference() => [.. _sumReference.Select(v => v / Count)];

    /// <summary>E[x'] (slimmed upstream).</summary>
    internal double[] MeanActual() => [.. _sumActual.Select(v => v / Count)];

    /// <summary>
    /// Cov(x') and Cov(x, x'), both shrunk as <see cref="PatchMoments.ShrunkCovariance"/> shrinks: towards
    /// (tr E[x'x'ᵀ]/D)·I with α = D/(D + n), so that with few patches the refit leans on the symmetric one.
    /// </summary>
    internal (Matrix<double> Actual, Matrix<double> Cross) ShrunkCovariances()
    {
        double[] mr = MeanReference(), ma = MeanActual();
        Matrix<double> actual = _outerActual / Count, cross = _outerCross / Count;
        double alpha = (double)Dimension / (Dimension + Count);
        double scale = actual.Trace() / Dimension;
        for (int i = 0; i < Dimension; i++)
        {
            for (int j = 0; j < Dimension; j++)
            {
                actual[i, j] = (1 - alpha) * (actual[i, j] - (ma[i] * ma[j]));
                cross[i, j] = (1 - alpha) * (cross[i, j] - (mr[i] * ma[j]));
            }
            actual[i, i] += alpha * scale;
            cross[i, i] += alpha * scale;
        }
        return (actual, cross);
    }
}
