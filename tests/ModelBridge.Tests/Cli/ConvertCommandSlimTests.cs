using System.Text.Json;
using ModelBridge.Cli;
using ModelBridge.Costs;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Tests.Cli;

/// <summary><c>modelbridge convert --slim</c> and its options, and <c>verify</c> on image folders, through the real entry point.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ConvertCommandSlimTests
{
    private static string Ocr => Path.Combine(TestPaths.Fixtures, "real", "ch_PP-OCRv4_det_infer");

    private static string Rfb => Path.Combine(TestPaths.Fixtures, "real", "version-RFB-320");

    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    /// <summary>Two of the OCR detector's committed calibration images, copied into <paramref name="dir"/>/cal (few images keep the test quick).</summary>
    private static string TwoCalibrationImages(TempDir dir)
    {
        string cal = dir.File("cal");
        Directory.CreateDirectory(cal);
        foreach (string name in new[] { "0_bw_text_upper.png", "3_rendered_coffee.png" })
        {
            File.Copy(Path.Combine(Ocr, "calibration", name), Path.Combine(cal, name));
        }
        return cal;
    }

    /// <summary>The OCR detector's three large 3×3 neck convs (p2o.Conv.52/55/58), calibrated on two calibration images.</summary>
    private static string[] OcrSlim(TempDir dir, params string[] extra) =>
    [
        "convert", Path.Combine(Ocr, "model.onnx"), "-t", "ort-nnapi", "--input-shape", "x=1,3,192,384", "-o", dir.File("det.onnx"),
        "--slim", "p2o.Conv.5", "--target-macs", "0.85", "--calibration", TwoCalibrationImages(dir),
        "--preprocess", Path.Combine(Ocr, "preprocess.json"), "--task", "binary-iou:sigmoid_0.tmp_0:0.3", .. extra,
    ];

    [Test]
    public void Slim_meets_the_budget_reports_held_out_agreement_and_verify_passes_with_the_map()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, output, err) = Run(OcrSlim(dir));
        Assert.That(code, Is.Zero, err + output);
        Assert.That(output, Does.Contain("slimming: MACs 414,440,064 ->").And.Contain("held-out (2 sample(s), 2 test-data folders)")
            .And.Contain("IoU of sigmoid_0.tmp_0 > 0.3").And.Contain("MACs by scope").And.Contain("/stride4"));
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(dir.File("det.slim.json")));
        JsonElement root = report.RootElement;
        Assert.That(root.GetProperty("format").GetString(), Is.EqualTo("modelbridge-slim-report/1"));
        Assert.That(root.GetProperty("dataAware").GetBoolean(), Is.True);
        Assert.That(root.GetProperty("model").GetProperty("macsFraction").GetDouble(), Is.LessThanOrEqualTo(0.85));
        JsonElement[] slimmed = [.. root.GetProperty("layers").EnumerateArray().Where(l => l.GetProperty("method").GetString() != "kept")];
        Assert.That(slimmed, Is.Not.Empty);
        Assert.That(slimmed.Select(l => l.GetProperty("nodes")[0].GetString()), Is.All.StartsWith("p2o.Conv.5"));
        foreach (JsonElement l in slimmed)
        {
            Assert.That(l.GetProperty("macsAfter").GetInt64(), Is.LessThan(l.GetProperty("macsBefore").GetInt64()));
            Assert.That(l.GetProperty("calibrationError").GetDouble(), Is.GreaterThan(0));
        }
        double iou = root.GetProperty("heldOut").GetProperty("tasks")[0].GetProperty("mean").GetDouble();
        Assert.That(iou, Is.InRange(0, 1));
        using (Model converted = Model.Load(dir.File("det.onnx")))
        {
            var dims = new Dictionary<string, long> { ["p2o.DynamicDimension.0"] = 1, ["p2o.DynamicDimension.1"] = 192, ["p2o.DynamicDimension.2"] = 384 };
            long macs = CostModel.Compute(converted.Graph, ShapeInference.Run(converted.Graph, new ShapeInferenceOptions { DimOverrides = dims })).TotalMacs;
            Assert.That(macs, Is.EqualTo(root.GetProperty("model").GetProperty("macsAfter").GetInt64()));
        }
        ProvenanceMap map = ProvenanceMap.FromJson(File.ReadAllText(dir.File("det.map.json")));
        Assert.That(map.Entries.Values.Count(e => e.Passes.Contains("declare-slimming-budget")), Is.GreaterThan(10), "the map carries the budgets");
        // verify on the calibration images (what the budgets were measured on), given as an image folder, under the
        // default elementwise rule.
        (code, output, err) = Run("verify", Path.Combine(Ocr, "model.onnx"), dir.File("det.onnx"), "--inputs", dir.File("cal"),
            "--preprocess", Path.Combine(Ocr, "preprocess.json"), "--input-shape", "x=1,3,192,384");
        Assert.That(code, Is.Zero, err + output);
        Assert.That(output, Does.Contain("within tolerance (2 sample(s)"));
    }

    [Test]
    public void Slim_with_json_puts_the_report_in_the_one_document()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, output, err) = Run(OcrSlim(dir, "--json", "--holdout", Path.Combine(Ocr, "test_data_set_1")));
        Assert.That(code, Is.Zero, err);
        using JsonDocument doc = CliHarness.SingleJson(output);
        JsonElement slimming = doc.RootElement.GetProperty("slimming");
        Assert.That(slimming.GetProperty("heldOut").GetProperty("samples").GetInt32(), Is.EqualTo(1));
        Assert.That(err, Does.Contain("slimming: MACs"), "the text report goes to stderr under --json");
    }

    [Test]
    public void Without_calibration_the_report_says_the_fit_is_to_the_weights()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, output, err) = Run("convert", Path.Combine(Rfb, "model.onnx"), "-t", "ort-nnapi", "-o", dir.File("face.onnx"),
            "--slim", "--target-macs", "0.9", "--task", "topk-overlap:scores:10:1");
        Assert.That(code, Is.Zero, err + output);
        Assert.That(output, Does.Contain("fit: to the weights (no calibration data)").And.Contain("note: no calibration data"));
        Assert.That(output, Does.Contain("held-out (2 sample(s)"), "the test data beside the model is held out by default");
        Assert.That(output, Does.Contain("overlap of the 10 highest scores[..., 1]"));
    }

    private static IEnumerable<TestCaseData> Misuse()
    {
        static TestCaseData Case(string name, string message, params string[] args) => new TestCaseData(args, message).SetName("{m}: " + name);
        yield return Case("--target-macs without --slim", "--target-macs needs --slim.", "--target-macs", "0.5");
        yield return Case("--calibration without --slim", "--calibration needs --slim.", "--calibration", "{ocr}/calibration");
        yield return Case("--slim without --target-macs", "--slim needs --target-macs F", "--slim");
        yield return Case("--target-macs out of range", "--target-macs expects a fraction in (0, 1], e.g. 0.7; got '1.5'.", "--slim", "--target-macs", "1.5");
        yield return Case("--target-macs not a number", "--target-macs expects a fraction in (0, 1]", "--slim", "--target-macs", "most");
        yield return Case("bad --task", "--task: 'iou:x:0.3' is not a task measure", "--slim", "--target-macs", "0.9", "--task", "iou:x:0.3");
        yield return Case("--task on an unknown output", "--task: the model has no output 'nope'. Its outputs: sigmoid_0.tmp_0.", "--slim", "--target-macs", "0.9", "--task", "binary-iou:nope:0.3");
        yield return Case("--slim with --lower-to-separable", "cannot be combined with --lower-to-separable", "--slim", "--target-macs", "0.9", "--lower-to-separable", "p2o");
        yield return Case("scope matching nothing", "No standard convolution that can be slimmed matches the scope 'nothing-here'", "--slim", "nothing-here", "--target-macs", "0.9");
        yield return Case("unreachable budget", "--target-macs 0.5 cannot be met: slimming every candidate conv to its cheapest rank leaves", "--slim", "p2o.Conv.58", "--target-macs", "0.5");
        yield return Case("missing calibration folder", "--calibration: folder '", "--slim", "--target-macs", "0.9", "--calibration", "{ocr}/no-such-folder");
        yield return Case("holdout is the calibration folder", "is the calibration folder", "--slim", "--target-macs", "0.9", "--calibration", "{ocr}/calibration", "--holdout", "{ocr}/calibration");
        yield return Case("bad --mean", "--mean expects one number or three", "--slim", "--target-macs", "0.9", "--calibration", "{ocr}/calibration", "--mean", "1,2");
        yield return Case("bad --channel-order", "--channel-order expects rgb or bgr, got 'rbg'.", "--slim", "--target-macs", "0.9", "--calibration", "{ocr}/calibration", "--channel-order", "rbg");
        yield return Case("folder without inputs", "holds no test_data_set_* folders, input_K.pb files or", "--slim", "--target-macs", "0.9", "--calibration", "{ocr}/test_data_set_0/..", "--holdout", "{empty}");
    }

    [TestCaseSource(nameof(Misuse))]
    public void Misuse_gets_one_line_and_exit_code_64(string[] args, string message)
    {
        using var dir = TestPaths.NewTempDir();
        Directory.CreateDirectory(dir.File("empty"));
        string[] full = [.. new[] { "convert", Path.Combine(Ocr, "model.onnx"), "-t", "ort-nnapi", "--input-shape", "x=1,3,192,384", "-o", dir.File("o.onnx") },
            .. args.Select(a => a.Replace("{ocr}", Ocr, StringComparison.Ordinal).Replace("{empty}", dir.File("empty"), StringComparison.Ordinal))];
        var (code, _, err) = Run(full);
        Assert.That(code, Is.EqualTo(Program.Usage), err);
        CliHarness.AssertOneErrorLine(err);
        Assert.That(err, Does.Contain(message));
        Assert.That(File.Exists(dir.File("o.onnx")), Is.False, "nothing is written");
    }

    [Test]
    public void Verify_reads_an_image_folder_with_the_preprocessing_options()
    {
        // The face detector against itself on its own photographs: the options reach the image loader (whose
        // pixels RealFixtureTests checks against the committed numpy inputs).
        string model = Path.Combine(Rfb, "model.onnx");
        var (code, output, err) = Run("verify", model, model, "--inputs", Path.Combine(Rfb, "images"), "--mean", "127", "--std", "128", "--scale", "1");
        Assert.That(code, Is.Zero, err + output);
        Assert.That(output, Does.Contain("(2 sample(s)"));
        (code, output, err) = Run("verify", model, model, "--inputs", Path.Combine(Rfb, "images"), "--mean", "127", "--std", "128", "--scale", "1", "--json");
        Assert.That(code, Is.Zero, err);
        using (JsonDocument json = JsonDocument.Parse(output))
        {
            Assert.That(json.RootElement.GetProperty("run").GetProperty("inputs").GetString(),
                Is.EqualTo("2 images in 'images' (rgb, stretch to model or image size, (p * 1 - 127) / 128)"));
        }
        (code, _, err) = Run("verify", model, model, "--mean", "127");
        Assert.That(code, Is.EqualTo(Program.Usage));
        Assert.That(err, Does.Contain("describe images given with --inputs DIR"));
    }
}
