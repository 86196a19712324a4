using MathNet.Numerics.LinearAlgebra;
using ModelBridge.Ir;

namespace ModelBridge.Slimming;

/// <summary>
/// Fits the factors of one <see cref="ConvLayer"/> at any rank, from its weights alone or from its
/// input patches' moments (<see cref="PatchMoments"/>), and measures how far the factored layer is from
/// the original (pure math: MathNet.Numerics, no runtime).
/// </summary>
/// <remarks>
/// <para>
/// Notation: W is the weight as a C_out × D matrix (D = C_in·K_h·K_w), b the bias, x an input patch with
/// mean μ and covariance Σ, y = Wx + b the layer's output there. Every factorisation is y' = H·T·x + b',
/// where T maps a patch to the first conv's outputs ("features") and H is the second conv.
/// </para>
/// <para><b>Weight fit</b> (<see cref="FitKind.Weights"/>): truncated SVDs, each split √σ to either factor:</para>
/// <list type="bullet">
/// <item>channel: W = UΣVᵀ; T = √Σ_r V_rᵀ (r × D), H = U_r √Σ_r;</item>
/// <item>spatial: A[(c,h),(o,w)] = W[o,c,h,w] = UΣVᵀ; first conv V1[k,c,h] = √σ_k U[(c,h),k], second H[o,k,w] = √σ_k V[(o,w),k];</item>
/// <item>separable: per input channel c, W[:,c,:] (C_out × K²) = U_cΣ_cV_cᵀ; depthwise D[c·r+j] = √σ_j v_j, pointwise P[:,c·r+j] = √σ_j u_j.</item>
/// </list>
/// <para><b>Data fit</b> (<see cref="FitKind.Data"/>) minimises E‖y − y'‖² over the calibration patches:</para>
/// <list type="bullet">
/// <item>channel (Zhang et al. 2015, linear case): the outputs' principal subspace. With U_r the top r
/// eigenvectors of WΣWᵀ (the covariance of y), T = U_rᵀW, H = U_r and b' = b + (I − U_rU_rᵀ)Wμ, i.e.
/// y' = U_rU_rᵀ(y − ȳ) + ȳ;</item>
/// <item>spatial, separable: T from the weight fit, then H by least squares given T,
/// H = (WΣTᵀ)(TΣTᵀ)⁻¹ (a 1e-6 relative ridge), and the bias correction b' = b + (W − HT)μ. When T has more
/// than <see cref="MaxLeastSquaresFeatures"/> features the second factor keeps its weight fit and only the
/// bias is corrected.</item>
/// </list>
/// <para>Σ is shrunk towards (tr Σ/D)·I (<see cref="PatchMoments"/>), so with few patches the data fit
/// leans on the weight fit, which is the data fit for isotropic patches.</para>
/// </remarks>
internal sealed partial class ConvFitter
{
    /// <summary>Above this many first-conv outputs the least-squares step is skipped (its solve is cubic in them).</summary>
    public const int MaxLeastSquaresFeatures = 1024;

    /// <summary>
    /// Fewer calibration patches than this and the layer is fitted to its weights: a mean and covariance from
    /// a handful of patches (a squeeze-excitation conv sees one per image) fit those patches, not the data.
    /// </summary>
    public const int MinPatches = 64;

    private readonly ConvLayer _layer;
    private readonly Matrix<double> _w;
    private readonly double[] _b;
    private readonly PatchMoments? _data;
    private readonly PatchMoments? _moments;
    private readonly Dictionary<string, object> _decompositions = new(StringComparer.Ordinal);
    private Matrix<double>? _sigma;
    private Matrix<double>? _rawSigma;
    private double[]? _mu;

    /// <summary>Creates a fitter for <paramref name="layer"/>.</summary>
    /// <param name="layer">The layer.</param>
    /// <param name="weight">Its weight [C_out, C_in, K_h, K_w].</param>
    /// <param name="bias">Its bias (C_out values), or null.</param>
    /// <param name="data">Moments of its input patches for a data fit, or null for a weight fit.</param>
    /// <exception cref="ArgumentException">The tensors do not fit the layer, or the moments are empty.</exception>
    public ConvFitter(ConvLayer layer, Tensor weight, Tensor? bias, PatchMoments? data = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(weight);
        int co = layer.OutputChannels, d = layer.PatchSize;
        if (weight.ElementCount != (long)co * d)
        {
            throw new ArgumentException($"Weight {weight} does not fit layer '{layer.Weight}' ({co} x {d}).", nameof(weight));
        }
        if (bias is not null && bias.ElementCount != co)
        {
            throw new ArgumentException($"Bias {bias} does not have {co} values.", nameof(bias));
        }
        if (data is not null && (data.Dimension != d || data.Count == 0))
        {
            throw new ArgumentException($"The moments have {data.Count} patches of {data.Dimension} values; layer '{layer.Weight}' needs patches of {d}.", nameof(data));
        }
        _layer = layer;
        float[] wf = weight.ToFloatArray();
        _w = Matrix<double>.Build.Dense(co, d, (i, j) => wf[(i * d) + j]);
        _b = bias is null ? new double[co] : [.. bias.ToFloatArray().Select(v => (double)v)];
        _moments = data;
        _data = data is { Count: >= MinPatches } ? data : null;
    }

    /// <summary>The layer.</summary>
    public ConvLayer Layer => _layer;

    /// <summary>True when fits use calibration data (moments of at least <see cref="MinPatches"/> patches were given).</summary>
    public bool IsDataAware => _data is not null;

    /// <summary>Fits <paramref name="method"/> at rank <paramref name="rank"/> (data fit when there are moments).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The rank is not in [1, full rank], or the method does not apply to a 1×1 kernel.</exception>
    public ConvFactors Fit(FactorizationMethod method, int rank)
    {
        if (!_layer.Supports(method))
        {
            throw new ArgumentOutOfRangeException(nameof(method), method, $"{method} needs a kernel of more than one element.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(rank, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rank, _layer.FullRank(method));
        return method switch
        {
            FactorizationMethod.Channel => FitChannel(rank),
            FactorizationMethod.Spatial => FitSpatial(rank),
            _ => FitSeparable(rank),
        };
    }

    /// <summary>‖W − W'‖_F / ‖W‖_F for the weight <paramref name="factors"/> compute together.</summary>
    public double WeightError(ConvFactors factors)
    {
        ArgumentNullException.ThrowIfNull(factors);
        double[] approx = factors.DenseWeight();
        double err = 0, total = 0;
        int d = _layer.PatchSize;
        for (int o = 0; o < _layer.OutputChannels; o++)
        {
            for (int t = 0; t < d; t++)
            {
                double w = _w[o, t], diff = w - approx[(o * d) + t];
                err += diff * diff;
                total += w * w;
            }
        }
        return total == 0 ? 0 : Math.Sqrt(err / total);
    }

    /// <summary>
    /// The layer's output error on the calibration patches, √(E‖y − y'‖²) / √(E‖y − ȳ‖²) (normalised RMS
    /// error, from the unshrunk moments), or null without moments or when the outputs do not vary over them.
    /// </summary>
    public double? DataError(ConvFactors factors)
    {
        ArgumentNullException.ThrowIfNull(factors);
        if (_moments is not { Count: > 1 })
        {
            return null;
        }
        Matrix<double> sigma = _rawSigma ??= _moments.Covariance();
        double[] mu = _moments.Mean();
        int co = _layer.OutputChannels, d = _layer.PatchSize;
        double[] approx = factors.DenseWeight();
        Matrix<double> delta = Matrix<double>.Build.Dense(co, d, (i, j) => _w[i, j] - approx[(i * d) + j]);
        double[] newBias = factors.Bias is { } nb ? [.. nb.ToFloatArray().Select(v => (double)v)] : _b;
        double err = (delta * sigma).PointwiseMultiply(delta).RowSums().Sum();
        Vector<double> shift = delta * Vector<double>.Build.DenseOfArray(mu);
        for (int o = 0; o < co; o++)
        {
            double e = shift[o] + _b[o] - newBias[o];
            err += e * e;
        }
        double signal = (_w * sigma).PointwiseMultiply(_w).RowSums().Sum();
        return signal > 0 ? Math.Sqrt(err / signal) : null;
    }

    private Matrix<double> Sigma => _sigma ??= _data!.ShrunkCovariance();

    private double[] Mu => _mu ??= _data!.Mean();

    private T Cached<T>(string key, Func<T> compute) where T : class
    {
        if (!_decompositions.TryGetValue(key, out object? value))
        {
            _decompositions[key] = value = compute();
        }
        return (T)value;
    }

    /// <summary>The corrected bias b + (W − W')μ for the dense weight W' the factors compute.</summary>
    private Tensor CorrectedBias(Matrix<double> approx)
    {
        Vector<double> shift = (_w - approx) * Vector<double>.Build.DenseOfArray(Mu);
        return Tensor.Create<float>([_layer.OutputChannels], [.. Enumerable.Range(0, _layer.OutputChannels).Select(o => (float)(_b[o] + shift[o]))]);
    }
}
