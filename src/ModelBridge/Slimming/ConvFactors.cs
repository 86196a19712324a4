using ModelBridge.Ir;

namespace ModelBridge.Slimming;

/// <summary>How a layer's factors were fitted.</summary>
public enum FitKind
{
    /// <summary>Truncated SVD of the weight; the bias is kept (no data needed).</summary>
    Weights,

    /// <summary>
    /// Fitted to the layer's output on calibration patches (<see cref="PatchMoments"/>): the first factor
    /// from the output's principal subspace (channel) or the weight SVD (spatial, separable), the second
    /// factor by least squares given the first, and the bias corrected for the mean patch.
    /// </summary>
    Data,
}

/// <summary>
/// The two weights (and bias) that replace one convolution weight, in ONNX layout, ready for
/// <see cref="Passes.DecomposeConvChannels"/>, <see cref="Passes.DecomposeConvSpatial"/> or
/// <see cref="Passes.LowerConvToSeparable"/>.
/// </summary>
/// <param name="Method">The factorisation.</param>
/// <param name="Rank">r.</param>
/// <param name="First">
/// First conv's weight: channel [r, C_in, K_h, K_w]; spatial [r, C_in, K_h, 1]; separable
/// [C_in·r, 1, K_h, K_w] (depthwise, group = C_in).
/// </param>
/// <param name="Second">Second conv's weight: channel [C_out, r, 1, 1]; spatial [C_out, r, 1, K_w]; separable [C_out, C_in·r, 1, 1].</param>
/// <param name="Bias">The second conv's bias (C_out values), or null to keep the original bias input.</param>
/// <param name="Fit">How the factors were fitted.</param>
public sealed record ConvFactors(FactorizationMethod Method, int Rank, Tensor First, Tensor Second, Tensor? Bias, FitKind Fit)
{
    /// <summary>
    /// The single convolution weight [C_out, C_in, K_h, K_w] the two factors compute together (the second
    /// factor applied to the first), in double precision from the float factors.
    /// </summary>
    public double[] DenseWeight()
    {
        float[] f = First.ToFloatArray(), s = Second.ToFloatArray();
        int co = (int)Second.Dims[0];
        switch (Method)
        {
            case FactorizationMethod.Channel:
            {
                int r = (int)First.Dims[0], d = f.Length / r;
                var w = new double[co * d];
                for (int o = 0; o < co; o++)
                {
                    for (int k = 0; k < r; k++)
                    {
                        double h = s[(o * r) + k];
                        for (int t = 0; t < d; t++)
                        {
                            w[(o * d) + t] += h * f[(k * d) + t];
                        }
                    }
                }
                return w;
            }
            case FactorizationMethod.Spatial:
            {
                int r = (int)First.Dims[0], ci = (int)First.Dims[1], kh = (int)First.Dims[2], kw = (int)Second.Dims[3];
                var w = new double[co * ci * kh * kw];
                for (int o = 0; o < co; o++)
                {
                    for (int k = 0; k < r; k++)
                    {
                        for (int x = 0; x < kw; x++)
                        {
                            double h = s[(((o * r) + k) * kw) + x];
                            for (int c = 0; c < ci; c++)
                            {
                                for (int y = 0; y < kh; y++)
                                {
                                    w[(((((o * ci) + c) * kh) + y) * kw) + x] += h * f[(((k * ci) + c) * kh) + y];
                                }
                            }
                        }
                    }
                }
                return w;
            }
            default:
            {
                int cr = (int)First.Dims[0], k2 = (int)(First.Dims[2] * First.Dims[3]), r = Rank, ci = cr / r;
                var w = new double[co * ci * k2];
                for (int o = 0; o < co; o++)
                {
                    for (int c = 0; c < ci; c++)
                    {
                        for (int j = 0; j < r; j++)
                        {
                            double h = s[(o * cr) + (c * r) + j];
                            for (int t = 0; t < k2; t++)
                            {
                                w[(((o * ci) + c) * k2) + t] += h * f[(((c * r) + j) * k2) + t];
                            }
                        }
                    }
                }
                return w;
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Method.ToString().ToLowerInvariant()} rank {Rank} ({Fit.ToString().ToLowerInvariant()} fit)";
}
