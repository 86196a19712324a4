using MathNet.Numerics.LinearAlgebra;

namespace ModelBridge.Slimming;

/// <summary>
/// First and second moments of a convolution's input patches (im2col columns), gathered from real
/// activations: what data-aware fitting (<see cref="ConvFitter"/>) needs instead of the activations themselves.
/// </summary>
/// <remarks>
/// <para>
/// A patch is the D = C_in·K_h·K_w input values one output position reads (zero where the window lies in
/// the padding), in the weight's (c, h, w) order, so that the conv's output there is W·x + b. Moments are
/// sums over patches in double precision: Σx and Σxxᵀ. Memory is D² doubles whatever the number of images.
/// </para>
/// <para>
/// To bound time (D² multiply-adds per patch), at most a fixed number of output positions per image
/// are sampled, uniformly without replacement, from a seeded generator: the same inputs and seed give the
/// same moments.
/// </para>
/// </remarks>
internal sealed class PatchMoments
{
    private readonly Matrix<double> _outer;
    private readonly double[] _sum;

    /// <summary>Creates empty moments for patches of <paramref name="dimension"/> values.</summary>
    public PatchMoments(int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        Dimension = dimension;
        _outer = Matrix<double>.Build.Dense(dimension, dimension);
        _sum = new double[dimension];
    }

    /// <summary>D, the length of a patch.</summary>
    public int Dimension { get; }

    /// <summary>Patches accumulated.</summary>
    public long Count { get; private set; }

    /// <summary>
    /// Adds the patches of up to <paramref name="maxPositions"/> output positions per batch item of
    /// <paramref name="input"/>, the NCHW activation read by <paramref name="site"/> of <paramref name="layer"/>.
    /// </summary>
    /// <param name="layer">The layer (kernel, strides, dilations, pads).</param>
    /// <param name="site">Which of its convs read <paramref name="input"/> (output size).</param>
    /// <param name="input">The activation, N·C_in·H_in·W_in floats.</param>
    /// <param name="maxPositions">Output positions sampled per batch item (all when there are fewer).</param>
    /// <param name="seed">Seed of the position sampler.</param>
    /// <exception cref="ArgumentException">The activation's size does not match the site.</exception>
    public void Add(ConvLayer layer, ConvSite site, ReadOnlySpan<float> input, int maxPositions, int seed)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(site);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPositions, 1);
        if (layer.PatchSize != Dimension)
        {
            throw new ArgumentException($"Layer '{layer.Weight}' has patches of {layer.PatchSize} values, these moments {Dimension}.", nameof(layer));
        }
        long plane = site.InputHeight * site.InputWidth;
        if (input.Length != site.Batch * layer.InputChannels * plane)
        {
            throw new ArgumentException($"The activation has {input.Length} values; site '{site.Node}' reads {site.Batch}x{layer.InputChannels}x{site.InputHeight}x{site.InputWidth}.", nameof(input));
        }
        int positions = checked((int)(site.OutputHeight * site.OutputWidth));
        var rng = new Random(seed);
        for (long b = 0; b < site.Batch; b++)
        {
            int[] chosen = Sample(positions, maxPositions, rng);
            var x = Matrix<double>.Build.Dense(chosen.Length, Dimension);
            ReadOnlySpan<float> item = input.Slice((int)(b * layer.InputChannels * plane), (int)(layer.InputChannels * plane));
            for (int row = 0; row < chosen.Length; row++)
            {
                FillPatch(layer, site, item, chosen[row], x, row);
            }
            _outer.Add(x.TransposeThisAndMultiply(x), _outer);
            for (int row = 0; row < chosen.Length; row++)
            {
                for (int d = 0; d < Dimension; d++)
                {
                    _sum[d] += x[row, d];
                }
            }
            Count += chosen.Length;
        }
    }

    /// <summary>The mean patch μ.</summary>
    /// <exception cref="InvalidOperationException">No patch was added.</exception>
    public double[] Mean()
    {
        RequireData();
        return [.. _sum.Select(s => s / Count)];
    }

    /// <summary>The covariance Σ = E[xxᵀ] − μμᵀ (population).</summary>
    internal Matrix<double> Covariance()
    {
        double[] mu = Mean();
        Matrix<double> cov = _outer / Count;
        for (int i = 0; i < Dimension; i++)
        {
            for (int j = 0; j < Dimension; j++)
            {
                cov[i, j] -= mu[i] * mu[j];
            }
        }
        return cov;
    }

    /// <summary>
    /// The covariance shrunk towards a multiple of the identity, (1 − α)Σ + α·(tr E[xxᵀ] / D)·I with
    /// α = D / (D + n): with few patches per dimension the estimate leans on the isotropic one, under which
    /// data-aware fitting reduces to fitting the weights. (The scale comes from the uncentred second
    /// moment so that it is not zero when every patch is alike.)
    /// </summary>
    internal Matrix<double> ShrunkCovariance()
    {
        Matrix<double> cov = Covariance();
        double alpha = (double)Dimension / (Dimension + Count);
        double scale = _outer.Trace() / Count / Dimension;
        Matrix<double> shrunk = cov * (1 - alpha);
        for (int i = 0; i < Dimension; i++)
        {
            shrunk[i, i] += alpha * scale;
        }
        return shrunk;
    }

    private void RequireData()
    {
        if (Count == 0)
        {
            throw new InvalidOperationException("No patch has been added.");
        }
    }

    internal static int[] Sample(int positions, int max, Random rng)
    {
        var all = Enumerable.Range(0, positions).ToArray();
        if (positions <= max)
        {
            return all;
        }
        // Partial Fisher-Yates: the first `max` entries are a uniform sample without replacement.
        for (int i = 0; i < max; i++)
        {
            int j = rng.Next(i, positions);
            (all[i], all[j]) = (all[j], all[i]);
        }
        Array.Sort(all, 0, max);
        return all[..max];
    }

    internal static void FillPatch(ConvLayer layer, ConvSite site, ReadOnlySpan<float> item, int position, Matrix<double> x, int row)
    {
        long i = position / site.OutputWidth, j = position % site.OutputWidth;
        long top = (i * layer.Strides[0]) - layer.Pads[0], left = (j * layer.Strides[1]) - layer.Pads[1];
        int col = 0;
        for (int c = 0; c < layer.InputChannels; c++)
        {
            long channel = c * site.InputHeight * site.InputWidth;
            for (int h = 0; h < layer.KernelHeight; h++)
            {
                long r = top + (h * layer.Dilations[0]);
                for (int w = 0; w < layer.KernelWidth; w++, col++)
                {
                    long q = left + (w * layer.Dilations[1]);
                    if (r >= 0 && r < site.InputHeight && q >= 0 && q < site.InputWidth)
                    {
                        x[row, col] = item[(int)(channel + (r * site.InputWidth) + q)];
                    }
                }
            }
        }
    }
}
