using ModelBridge.Ir;
using ModelBridge.Slimming;

namespace ModelBridge.Verify.Slimming;

/// <summary>The sequential refit of the chosen layers.</summary>
public static partial class Slimmer
{
    /// <summary>
    /// Refits each chosen layer, in graph order, to the inputs it receives once every chosen layer above it is
    /// slimmed (<see cref="ConvFitter.Refit"/>): the error the upstream layers introduce is partly undone by the
    /// next one instead of compounding. The slimmed layers above are simulated by overriding their weights
    /// and biases with their factors' dense product in one ORT session (no graph is rebuilt per layer).
    /// </summary>
    private static void RefitSequentially(Model canonical, List<ConvFitter> fitters, Dictionary<string, ConvFactors> chosen,
        IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples, SlimOptions slim, IProgress<ParityProgress>? progress, CancellationToken cancellationToken)
    {
        List<ConvFitter> order = [.. fitters.Where(f => chosen.ContainsKey(f.Layer.Weight))];
        if (order.Count == 0)
        {
            return;
        }
        using Model probe = canonical.Clone();
        Dictionary<string, (string Weight, string Bias, TensorData DefaultBias)> slots = MakeOverridable(probe, [.. order.Select(f => f.Layer)]);
        Graph g = probe.Graph;
        var overrides = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        List<List<ConvFitter>> chunks = ParityChecker.Chunk(order, f => f.Layer.Sites.Sum(s => 8L * s.Batch * f.Layer.InputChannels * s.InputHeight * s.InputWidth), slim.MaxMemoryBytes);
        int done = 0;
        foreach (List<ConvFitter> chunk in chunks)
        {
            IEnumerable<string> exposed = chunk.SelectMany(f => f.Layer.Sites).Select(s => s.Input).Where(n => !g.GetValue(n).IsGraphInput);
            using var runner = new OrtRunner(probe, RunnerOptions(slim, GraphOptimization.All, exposed));
            foreach (ConvFitter fitter in chunk)
            {
                ConvLayer layer = fitter.Layer;
                var joint = new JointPatchMoments(layer.PatchSize);
                for (int i = 0; i < samples.Count; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    Dictionary<string, TensorData> feeds = Feeds(runner, samples[i]);
                    IReadOnlyDictionary<string, TensorData> reference = runner.Run(feeds, cancellationToken);
                    IReadOnlyDictionary<string, TensorData> actual = overrides.Count == 0 ? reference
                        : runner.Run(new Dictionary<string, TensorData>(feeds.Concat(overrides), StringComparer.Ordinal), cancellationToken);
                    for (int s = 0; s < layer.Sites.Count; s++)
                    {
                        ConvSite site = layer.Sites[s];
                        TensorData x = reference.GetValueOrDefault(site.Input) ?? samples[i][site.Input];
                        TensorData y = actual.GetValueOrDefault(site.Input) ?? samples[i][site.Input];
                        joint.Add(layer, site, x.AsFloatSpan(), y.AsFloatSpan(), slim.PositionsPerImage, Mix(slim.Seed, 2, order.IndexOf(fitter), i, s));
                    }
                }
                ConvFactors refit = fitter.Refit(chosen[layer.Weight], joint);
                chosen[layer.Weight] = refit;
                var (weightSlot, biasSlot, defaultBias) = slots[layer.Weight];
                overrides[weightSlot] = TensorData.Create<float>([layer.OutputChannels, layer.InputChannels, layer.KernelHeight, layer.KernelWidth],
                    [.. refit.DenseWeight().Select(v => (float)v)]);
                overrides[biasSlot] = refit.Bias is { } b ? TensorData.FromTensor(b) : defaultBias;
                progress?.Report(new ParityProgress("refit", ++done, order.Count, layer.Sites[0].Node));
            }
        }
    }
}
