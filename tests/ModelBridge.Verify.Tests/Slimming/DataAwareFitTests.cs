using ModelBridge.Rewriting;
using ModelBridge.Shapes;
using ModelBridge.Slimming;

namespace ModelBridge.Verify.Tests.Slimming;

/// <summary>
/// Data-aware fitting measured on a trained model's real activations: factors fitted to the PaddleOCR v4
/// detector's activations on its calibration images (fixtures/real/ch_PP-OCRv4_det_infer/calibration, made
/// by make_calibration.py), judged by the layer's output error on the two committed photographs, which the
/// fit never saw, against factors fitted to the weights alone.
/// </summary>
[TestFixture]
public sealed class DataAwareFitTests
{
    private static string Dir => Path.Combine(TestPaths.Fixtures, "real", "ch_PP-OCRv4_det_infer");

    private static readonly Dictionary<string, (ConvLayer, Tensor, Tensor?, PatchMoments, PatchMoments)> Cache = new(StringComparer.Ordinal);

    /// <summary>The canonical detector's layer reading <paramref name="node"/>'s weight, and its patch moments on the calibration images and on the photographs.</summary>
    private static (ConvLayer Layer, Tensor Weight, Tensor? Bias, PatchMoments Calibration, PatchMoments HeldOut) Capture(string node)
    {
        if (Cache.TryGetValue(node, out var cached))
        {
            return cached;
        }
        using Model model = Model.Load(Path.Combine(Dir, "model.onnx"));
        var dims = new Dictionary<string, long>(StringComparer.Ordinal) { ["p2o.DynamicDimension.0"] = 1, ["p2o.DynamicDimension.1"] = 192, ["p2o.DynamicDimension.2"] = 384 };
        var shapeOptions = new ShapeInferenceOptions { DimOverrides = dims };
        Pipeline.Canonical(dims).Run(model, new PipelineOptions { Shapes = shapeOptions });
        ConvLayer layer = ConvLayer.Find(model.Graph, ShapeInference.Run(model.Graph, shapeOptions), "").Layers.Single(l => l.Sites.Any(s => s.Node == node));
        ConvSite site = layer.Sites.Single();
        var preprocessing = ImagePreprocessing.FromJson(File.ReadAllText(Path.Combine(Dir, "preprocess.json")));
        var calibration = ImageLoader.LoadSamples(Path.Combine(Dir, "calibration"), model, preprocessing);
        var photographs = TestDataSet.FindFolders(Dir).Select(f => TestDataSet.Read(f, model).InputsByName()).ToList();
        using var runner = new OrtRunner(model, new OrtRunnerOptions { ExtraOutputs = [site.Input], LogLevel = OrtLogLevel.Error });
        PatchMoments Moments(IEnumerable<IReadOnlyDictionary<string, TensorData>> samples)
        {
            var m = new PatchMoments(layer.PatchSize);
            int i = 0;
            foreach (var sample in samples)
            {
                m.Add(layer, site, runner.Run(sample)[site.Input].AsFloatSpan(), 1024, i++);
            }
            return m;
        }
        Tensor w = Constants.WeightOf(model.Graph.GetValue(layer.Weight))!;
        Tensor? b = layer.Bias is null ? null : Constants.WeightOf(model.Graph.GetValue(layer.Bias));
        return Cache[node] = (layer, w, b, Moments(calibration), Moments(photographs));
    }

    [TestCase("p2o.Conv.58", FactorizationMethod.Channel, 12)]
    [TestCase("p2o.Conv.58", FactorizationMethod.Spatial, 24)]
    [TestCase("p2o.Conv.58", FactorizationMethod.Separable, 3)]
    [TestCase("p2o.Conv.55", FactorizationMethod.Spatial, 24)]
    [TestCase("p2o.Conv.36", FactorizationMethod.Channel, 96)]
    public void Fitting_to_calibration_images_beats_fitting_the_weights_on_held_out_photographs(string node, FactorizationMethod method, int rank)
    {
        var (layer, w, b, calibration, heldOut) = Capture(node);
        var calibrated = new ConvFitter(layer, w, b, calibration);
        var judge = new ConvFitter(layer, w, b, heldOut);
        var weightsOnly = new ConvFitter(layer, w, b);
        Assert.That(calibrated.IsDataAware, Is.True);
        double data = judge.DataError(calibrated.Fit(method, rank))!.Value;
        double weights = judge.DataError(weightsOnly.Fit(method, rank))!.Value;
        TestContext.Out.WriteLine($"{node} {layer.Sites[0].OutputHeight}x{layer.Sites[0].OutputWidth} {method} rank {rank}/{layer.FullRank(method)}: " +
            $"error on the held-out photographs {data:G3} (data fit) vs {weights:G3} (weight fit)");
        Assert.That(data, Is.LessThan(weights), "the data-aware fit generalises to unseen photographs better than the weight fit");
    }
}
