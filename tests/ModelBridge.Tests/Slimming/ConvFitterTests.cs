using ModelBridge.Shapes;
using ModelBridge.Slimming;
using ModelBridge.Verify;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Slimming;

[TestFixture]
public sealed class ConvFitterTests
{
    private static readonly FactorizationMethod[] Methods = [FactorizationMethod.Channel, FactorizationMethod.Spatial, FactorizationMethod.Separable];

    private static (Model Model, ConvLayer Layer, Tensor W, Tensor B) Layer(ConvSpec spec)
    {
        Model m = Conv(spec);
        ConvLayer layer = ConvLayer.Find(m.Graph, ShapeInference.Run(m.Graph), "").Layers.Single();
        return (m, layer, Constants.Of(m.Graph.GetValue("w"))!, Constants.Of(m.Graph.GetValue("b"))!);
    }

    /// <summary>Activations whose channels mix three latent maps: strongly correlated, as real feature maps are.</summary>
    private static float[] Correlated(int channels, int h, int w, int seed)
    {
        var rng = new Random(seed);
        double[,] mix = new double[channels, 3];
        for (int c = 0; c < channels; c++)
        {
            for (int k = 0; k < 3; k++)
            {
                mix[c, k] = rng.NextDouble() * 2 - 1;
            }
        }
        var latent = new double[3, h * w];
        for (int k = 0; k < 3; k++)
        {
            for (int p = 0; p < h * w; p++)
            {
                latent[k, p] = Math.Sin((p % w) * (0.3 + k) + (p / w) * (0.2 * k)) + (0.1 * (rng.NextDouble() - 0.5));
            }
        }
        var x = new float[channels * h * w];
        for (int c = 0; c < channels; c++)
        {
            for (int p = 0; p < h * w; p++)
            {
                x[(c * h * w) + p] = (float)((mix[c, 0] * latent[0, p]) + (mix[c, 1] * latent[1, p]) + (mix[c, 2] * latent[2, p]) + 0.5);
            }
        }
        return x;
    }

    [Test]
    public void Full_rank_weight_fits_reproduce_the_weight()
    {
        var (m, layer, w, b) = Layer(new ConvSpec { Input = [1, 5, 8, 8], OutChannels = 7, Kernel = [3, 2], Pads = [1, 0, 1, 1] });
        using (m)
        {
            var fitter = new ConvFitter(layer, w, b);
            foreach (FactorizationMethod method in Methods)
            {
                ConvFactors f = fitter.Fit(method, layer.FullRank(method));
                Assert.That(fitter.WeightError(f), Is.LessThan(1e-6), method.ToString());
                Assert.That(f.Bias, Is.Null, "a weight fit keeps the bias");
                Assert.That(f.Fit, Is.EqualTo(FitKind.Weights));
            }
        }
    }

    [Test]
    public void Rank_for_a_weight_error_is_the_smallest_within_it()
    {
        var (m, layer, w, b) = Layer(new ConvSpec { Input = [1, 8, 8, 8], OutChannels = 12, Pads = [1, 1, 1, 1] });
        using (m)
        {
            var fitter = new ConvFitter(layer, w, b);
            foreach (FactorizationMethod method in Methods)
            {
                int r = fitter.RankForWeightError(method, 0.4);
                Assert.That(fitter.WeightError(fitter.Fit(method, r)), Is.LessThanOrEqualTo(0.4 + 1e-6), method.ToString());
                if (r > 1)
                {
                    Assert.That(fitter.WeightError(fitter.Fit(method, r - 1)), Is.GreaterThan(0.4), method.ToString());
                }
                Assert.That(fitter.RankForWeightError(method, 0), Is.EqualTo(layer.FullRank(method)));
            }
        }
    }

    [Test]
    public void Data_fits_beat_weight_fits_on_correlated_inputs()
    {
        var (m, layer, w, b) = Layer(new ConvSpec { Input = [1, 12, 20, 20], OutChannels = 16, Pads = [1, 1, 1, 1], Seed = 5 });
        using (m)
        {
            var moments = new PatchMoments(layer.PatchSize);
            for (int i = 0; i < 4; i++)
            {
                moments.Add(layer, layer.Sites[0], Correlated(12, 20, 20, 100 + i), 400, i);
            }
            var byData = new ConvFitter(layer, w, b, moments);
            var byWeights = new ConvFitter(layer, w, b);
            Assert.That(byData.IsDataAware && !byWeights.IsDataAware, Is.True);
            foreach (var (method, rank) in new[] { (FactorizationMethod.Channel, 3), (FactorizationMethod.Spatial, 4), (FactorizationMethod.Separable, 2) })
            {
                double data = byData.DataError(byData.Fit(method, rank))!.Value;
                double weights = byData.DataError(byWeights.Fit(method, rank))!.Value;
                TestContext.Out.WriteLine($"{method} rank {rank}: data fit {data:G3}, weight fit {weights:G3}");
                Assert.That(data, Is.LessThan(weights * 0.8), method.ToString());
            }
        }
    }

    [Test]
    public void A_handful_of_patches_falls_back_to_the_weight_fit()
    {
        var (m, layer, w, b) = Layer(new ConvSpec { Input = [1, 4, 6, 6], OutChannels = 4, Pads = [1, 1, 1, 1] });
        using (m)
        {
            var moments = new PatchMoments(layer.PatchSize);
            moments.Add(layer, layer.Sites[0], Correlated(4, 6, 6, 1), ConvFitter.MinPatches - 1, 0);
            var fitter = new ConvFitter(layer, w, b, moments);
            Assert.That(fitter.IsDataAware, Is.False);
            Assert.That(fitter.Fit(FactorizationMethod.Channel, 2).Fit, Is.EqualTo(FitKind.Weights));
            Assert.That(fitter.DataError(fitter.Fit(FactorizationMethod.Channel, 2)), Is.Not.Null, "the error on the few patches is still reported");
        }
    }

    [Test]
    public void Refit_on_unchanged_inputs_keeps_the_data_fit()
    {
        var (m, layer, w, b) = Layer(new ConvSpec { Input = [1, 6, 16, 16], OutChannels = 8, Pads = [1, 1, 1, 1], Seed = 2 });
        using (m)
        {
            var moments = new PatchMoments(layer.PatchSize);
            var joint = new JointPatchMoments(layer.PatchSize);
            for (int i = 0; i < 3; i++)
            {
                float[] x = Correlated(6, 16, 16, 40 + i);
                moments.Add(layer, layer.Sites[0], x, 256, i);
                joint.Add(layer, layer.Sites[0], x, x, 256, i);
            }
            var fitter = new ConvFitter(layer, w, b, moments);
            foreach (var (method, rank) in new[] { (FactorizationMethod.Channel, 3), (FactorizationMethod.Spatial, 5), (FactorizationMethod.Separable, 2) })
            {
                ConvFactors fit = fitter.Fit(method, rank);
                ConvFactors refit = fitter.Refit(fit, joint);
                double[] a = fit.DenseWeight(), c = refit.DenseWeight();
                double diff = Math.Sqrt(a.Zip(c).Sum(p => (p.First - p.Second) * (p.First - p.Second)) / a.Sum(v => v * v));
                Assert.That(diff, Is.LessThan(1e-3), method.ToString());
                Assert.That(refit.Bias!.ToFloatArray(), Is.EqualTo(fit.Bias!.ToFloatArray()).Within(1e-3), method.ToString());
            }
        }
    }

    [Test]
    public void Patch_moments_give_the_conv_outputs_mean_and_covariance_that_ort_computes()
    {
        var (m, layer, w, b) = Layer(new ConvSpec { Input = [1, 3, 9, 10], OutChannels = 5, Kernel = [3, 2], Pads = [2, 0, 1, 1], Strides = [2, 1], Dilations = [1, 2], Seed = 8 });
        using (m)
        {
            IReadOnlyDictionary<string, TensorData> inputs = Numerics.Inputs(m, 3);
            float[] y = Numerics.Run(m, inputs)["y"].ToFloatArray();
            var moments = new PatchMoments(layer.PatchSize);
            moments.Add(layer, layer.Sites[0], inputs["x"].AsFloatSpan(), int.MaxValue, 0);
            ConvSite site = layer.Sites[0];
            int positions = (int)(site.OutputHeight * site.OutputWidth), co = layer.OutputChannels, d = layer.PatchSize;
            Assert.That(moments.Count, Is.EqualTo(positions));
            double[] mu = moments.Mean();
            float[] wf = w.ToFloatArray(), bf = b.ToFloatArray();
            // The full-rank "factorisation" W·x + b at every patch must give ORT's outputs on average.
            for (int o = 0; o < co; o++)
            {
                double predicted = bf[o] + Enumerable.Range(0, d).Sum(t => wf[(o * d) + t] * mu[t]);
                double actual = Enumerable.Range(0, positions).Average(p => y[(o * positions) + p]);
                Assert.That(predicted, Is.EqualTo(actual).Within(1e-4), $"channel {o}");
            }
            // And the data error of the exact factors is zero, of a crude rank-1 fit it is not.
            var fitter = new ConvFitter(layer, w, b, moments);
            Assert.That(fitter.DataError(new ConvFitter(layer, w, b).Fit(FactorizationMethod.Channel, layer.FullRank(FactorizationMethod.Channel)))!.Value, Is.LessThan(1e-5));
            Assert.That(fitter.DataError(new ConvFitter(layer, w, b).Fit(FactorizationMethod.Channel, 1))!.Value, Is.GreaterThan(0.05));
        }
    }
}
