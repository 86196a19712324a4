using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;
using ModelBridge.Ir;

namespace ModelBridge.Slimming;

/// <summary>The three factorisations: first factor, second factor, bias (formulas on <see cref="ConvFitter"/>).</summary>
internal sealed partial class ConvFitter
{
    /// <summary>
    /// The smallest rank whose weight fit has a relative Frobenius error ‖W − W'‖/‖W‖ of at most
    /// <paramref name="budget"/>, from the singular values (the tail's energy); the full rank for 0.
    /// </summary>
    public int RankForWeightError(FactorizationMethod method, double budget)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budget);
        int full = _layer.FullRank(method);
        double[][] spectra = method switch
        {
            FactorizationMethod.Channel => [ChannelSvd().S.ToArray()],
            FactorizationMethod.Spatial => [SpatialSvd().S.ToArray()],
            _ => [.. SeparableSvds().Select(s => s.S.ToArray())],
        };
        double total = spectra.Sum(s => s.Sum(v => v * v));
        for (int r = 1; r < full; r++)
        {
            double tail = spectra.Sum(s => s.Skip(r).Sum(v => v * v));
            if (total == 0 || Math.Sqrt(tail / total) <= budget)
            {
                return r;
            }
        }
        return full;
    }

    private Svd<double> ChannelSvd() => Cached("channel-svd", () => _w.Svd(computeVectors: true));

    private Svd<double> SpatialSvd()
    {
        int co = _layer.OutputChannels, ci = _layer.InputChannels, kh = _layer.KernelHeight, kw = _layer.KernelWidth;
        return Cached("spatial-svd", () =>
            Matrix<double>.Build.Dense(ci * kh, co * kw, (row, col) => _w[col / kw, (row * kw) + (col % kw)]).Svd(computeVectors: true));
    }

    private Svd<double>[] SeparableSvds()
    {
        int co = _layer.OutputChannels, ci = _layer.InputChannels, k2 = _layer.KernelHeight * _layer.KernelWidth;
        return Cached("separable-svd", () =>
            Enumerable.Range(0, ci).Select(c => Matrix<double>.Build.Dense(co, k2, (o, t) => _w[o, (c * k2) + t]).Svd(computeVectors: true)).ToArray());
    }

    private ConvFactors FitChannel(int r)
    {
        int co = _layer.OutputChannels, d = _layer.PatchSize;
        Matrix<double> first, second;
        if (_data is null)
        {
            Svd<double> svd = ChannelSvd();
            first = Matrix<double>.Build.Dense(r, d, (k, t) => Math.Sqrt(svd.S[k]) * svd.VT[k, t]);
            second = Matrix<double>.Build.Dense(co, r, (o, k) => Math.Sqrt(svd.S[k]) * svd.U[o, k]);
        }
        else
        {
            // The outputs' covariance WΣWᵀ; its leading eigenvectors span the best r-dimensional output subspace.
            Matrix<double> vectors = Cached("channel-pca", () => SortedEigenvectors(_w * Sigma * _w.Transpose()));
            Matrix<double> ur = vectors.SubMatrix(0, co, 0, r);
            first = ur.TransposeThisAndMultiply(_w);
            second = ur;
        }
        Matrix<double> approx = second * first;
        return new ConvFactors(FactorizationMethod.Channel, r,
            ToTensor(first, [r, _layer.InputChannels, _layer.KernelHeight, _layer.KernelWidth]),
            ToTensor(second, [co, r, 1, 1]),
            _data is null ? null : CorrectedBias(approx),
            _data is null ? FitKind.Weights : FitKind.Data);
    }

    private ConvFactors FitSpatial(int r)
    {
        int co = _layer.OutputChannels, ci = _layer.InputChannels, kh = _layer.KernelHeight, kw = _layer.KernelWidth;
        Svd<double> svd = SpatialSvd();
        // V1[k, (c,h)] and H[o, (k,w)].
        Matrix<double> v1 = Matrix<double>.Build.Dense(r, ci * kh, (k, ch) => Math.Sqrt(svd.S[k]) * svd.U[ch, k]);
        Matrix<double> h = Matrix<double>.Build.Dense(co, r * kw, (o, kx) => Math.Sqrt(svd.S[kx / kw]) * svd.VT[kx / kw, (o * kw) + (kx % kw)]);
        var structure = new Structure(FactorizationMethod.Spatial, v1, r, _layer);
        return Finish(structure, h, [r, ci, kh, 1], [co, r, 1, kw]);
    }

    private ConvFactors FitSeparable(int r)
    {
        int co = _layer.OutputChannels, ci = _layer.InputChannels, k2 = _layer.KernelHeight * _layer.KernelWidth;
        Svd<double>[] svds = SeparableSvds();
        Matrix<double> depthwise = Matrix<double>.Build.Dense(ci * r, k2, (cj, t) => Math.Sqrt(svds[cj / r].S[cj % r]) * svds[cj / r].VT[cj % r, t]);
        Matrix<double> pointwise = Matrix<double>.Build.Dense(co, ci * r, (o, cj) => Math.Sqrt(svds[cj / r].S[cj % r]) * svds[cj / r].U[o, cj % r]);
        var structure = new Structure(FactorizationMethod.Separable, depthwise, r, _layer);
        return Finish(structure, pointwise, [ci * r, 1, _layer.KernelHeight, _layer.KernelWidth], [co, ci * r, 1, 1]);
    }

    /// <summary>With data: the second factor by least squares given the first, then the bias correction.</summary>
    private ConvFactors Finish(Structure t, Matrix<double> weightFitSecond, long[] firstDims, long[] secondDims)
    {
        Matrix<double> second = weightFitSecond;
        if (_data is not null && t.Features <= MaxLeastSquaresFeatures)
        {
            Matrix<double> sigmaT = t.TimesTransposeOf(Sigma);            // ΣTᵀ (D × F)
            Matrix<double> gram = t.TimesTransposeOf(sigmaT.Transpose()); // TΣTᵀ (F × F)
            Matrix<double> cross = _w * sigmaT;                            // WΣTᵀ (C_out × F)
            double ridge = 1e-6 * Math.Max(gram.Trace() / t.Features, double.Epsilon);
            for (int i = 0; i < t.Features; i++)
            {
                gram[i, i] += ridge;
            }
            second = gram.Cholesky().Solve(cross.Transpose()).Transpose();
        }
        Matrix<double> approx = t.Compose(second);
        return new ConvFactors(t.Method, t.Rank, ToTensor(t.First, firstDims), ToTensor(second, secondDims),
            _data is null ? null : CorrectedBias(approx),
            _data is null ? FitKind.Weights : FitKind.Data);
    }

    /// <summary>
    /// Refits the second factor and bias of <paramref name="fitted"/> to inputs from a model whose upstream
    /// layers are already slimmed: with T kept, H = W·Cov(x, x')·Tᵀ (T·Cov(x')·Tᵀ)⁻¹ and
    /// b' = W·E[x] + b − H·T·E[x'], the least-squares fit of the original output Wx + b from the slimmed
    /// input x' (Zhang et al. 2015's asymmetric reconstruction, linear case). With more than
    /// <see cref="MaxLeastSquaresFeatures"/> first-conv outputs, or fewer than <see cref="MinPatches"/>
    /// pairs, H is kept and only the bias is refitted (or nothing, without enough pairs).
    /// </summary>
    /// <exception cref="ArgumentException">The moments do not fit the layer.</exception>
    public ConvFactors Refit(ConvFactors fitted, JointPatchMoments joint)
    {
        ArgumentNullException.ThrowIfNull(fitted);
        ArgumentNullException.ThrowIfNull(joint);
        if (joint.Dimension != _layer.PatchSize)
        {
            throw new ArgumentException($"The moments have patches of {joint.Dimension} values; layer '{_layer.Weight}' needs {_layer.PatchSize}.", nameof(joint));
        }
        if (joint.Count < MinPatches)
        {
            return fitted;
        }
        var t = Structure.Of(fitted, _layer);
        float[] hf = fitted.Second.ToFloatArray();
        int co = _layer.OutputChannels;
        Matrix<double> second = Matrix<double>.Build.Dense(co, t.Features, (i, j) => hf[(i * t.Features) + j]);
        if (t.Features <= MaxLeastSquaresFeatures)
        {
            (Matrix<double> actual, Matrix<double> cross) = joint.ShrunkCovariances();
            Matrix<double> gram = t.TimesTransposeOf(t.TimesTransposeOf(actual).Transpose()); // T Σ' Tᵀ
            Matrix<double> rhs = t.TimesTransposeOf(_w * cross);                                 // W C Tᵀ
            double ridge = 1e-6 * Math.Max(gram.Trace() / t.Features, double.Epsilon);
            for (int i = 0; i < t.Features; i++)
            {
                gram[i, i] += ridge;
            }
            second = gram.Cholesky().Solve(rhs.Transpose()).Transpose();
        }
        Vector<double> target = (_w * Vector<double>.Build.DenseOfArray(joint.MeanReference())) + Vector<double>.Build.DenseOfArray(_b);
        Vector<double> predicted = t.Compose(second) * Vector<double>.Build.DenseOfArray(joint.MeanActual());
        var bias = Tensor.Create<float>([co], [.. Enumerable.Range(0, co).Select(o => (float)(target[o] - predicted[o]))]);
        long[] secondDims = [.. fitted.Second.Dims];
        return fitted with { Second = ToTensor(second, secondDims), Bias = bias, Fit = FitKind.Data };
    }

    private static Matrix<double> SortedEigenvectors(Matrix<double> symmetric)
    {
        Evd<double> evd = symmetric.Evd(Symmetricity.Symmetric);
        int n = symmetric.RowCount;
        int[] order = [.. Enumerable.Range(0, n).OrderByDescending(i => evd.EigenValues[i].Real)];
        return Matrix<double>.Build.Dense(n, n, (row, col) => evd.EigenVectors[row, order[col]]);
    }

    private static Tensor ToTensor(Matrix<double> m, long[] dims)
    {
        var data = new float[m.RowCount * m.ColumnCount];
        for (int i = 0; i < m.RowCount; i++)
        {
            for (int j = 0; j < m.ColumnCount; j++)
            {
                data[(i * m.ColumnCount) + j] = (float)m[i, j];
            }
        }
        return Tensor.Create<float>(dims, data);
    }

    /// <summary>The first factor T of a spatial or separable split, applied structurally (T is block-sparse).</summary>
    private sealed class Structure(FactorizationMethod method, Matrix<double> first, int rank, ConvLayer layer)
    {
        private readonly int _ci = layer.InputChannels, _kh = layer.KernelHeight, _kw = layer.KernelWidth;

        public FactorizationMethod Method => method;

        public Matrix<double> First => first;

        public int Rank => rank;

        /// <summary>Outputs of the first conv per patch: r (channel), r·K_w (spatial) or C_in·r (separable).</summary>
        public int Features => method switch
        {
            FactorizationMethod.Channel => rank,
            FactorizationMethod.Spatial => rank * _kw,
            _ => _ci * rank,
        };

        /// <summary>The structure of fitted factors: their first weight as the matrix T is built from.</summary>
        public static Structure Of(ConvFactors f, ConvLayer layer)
        {
            float[] w = f.First.ToFloatArray();
            int rows = (int)f.First.Dims[0], cols = w.Length / rows;
            return new Structure(f.Method, Matrix<double>.Build.Dense(rows, cols, (i, j) => w[(i * cols) + j]), f.Rank, layer);
        }

        /// <summary>M·Tᵀ for M with D columns.</summary>
        public Matrix<double> TimesTransposeOf(Matrix<double> m)
        {
            if (method == FactorizationMethod.Channel)
            {
                return m.TransposeAndMultiply(first);
            }
            double[] a = m.ToRowMajorArray();
            int rows = m.RowCount, d = _ci * _kh * _kw, f = Features;
            var result = new double[rows * f];
            double[] t = first.ToRowMajorArray();
            int k2 = _kh * _kw;
            for (int i = 0; i < rows; i++)
            {
                int row = i * d;
                if (method == FactorizationMethod.Spatial)
                {
                    for (int k = 0; k < rank; k++)
                    {
                        for (int w = 0; w < _kw; w++)
                        {
                            double s = 0;
                            for (int ch = 0; ch < _ci * _kh; ch++)
                            {
                                s += a[row + (ch * _kw) + w] * t[(k * _ci * _kh) + ch];
                            }
                            result[(i * f) + (k * _kw) + w] = s;
                        }
                    }
                }
                else
                {
                    for (int cj = 0; cj < f; cj++)
                    {
                        int c = cj / rank;
                        double s = 0;
                        for (int q = 0; q < k2; q++)
                        {
                            s += a[row + (c * k2) + q] * t[(cj * k2) + q];
                        }
                        result[(i * f) + cj] = s;
                    }
                }
            }
            return Matrix<double>.Build.DenseOfRowMajor(rows, f, result);
        }

        /// <summary>H·T: the dense C_out × D weight the two factors compute.</summary>
        public Matrix<double> Compose(Matrix<double> h)
        {
            if (method == FactorizationMethod.Channel)
            {
                return h * first;
            }
            int co = h.RowCount, d = _ci * _kh * _kw, k2 = _kh * _kw;
            double[] hh = h.ToRowMajorArray(), t = first.ToRowMajorArray();
            var w = new double[co * d];
            int f = Features;
            for (int o = 0; o < co; o++)
            {
                if (method == FactorizationMethod.Spatial)
                {
                    for (int k = 0; k < rank; k++)
                    {
                        for (int x = 0; x < _kw; x++)
                        {
                            double coef = hh[(o * f) + (k * _kw) + x];
                            for (int ch = 0; ch < _ci * _kh; ch++)
                            {
                                w[(o * d) + (ch * _kw) + x] += coef * t[(k * _ci * _kh) + ch];
                            }
                        }
                    }
                }
                else
                {
                    for (int cj = 0; cj < f; cj++)
                    {
                        double coef = hh[(o * f) + cj];
                        int c = cj / rank;
                        for (int q = 0; q < k2; q++)
                        {
                            w[(o * d) + (c * k2) + q] += coef * t[(cj * k2) + q];
                        }
                    }
                }
            }
            return Matrix<double>.Build.DenseOfRowMajor(co, d, w);
        }
    }
}
