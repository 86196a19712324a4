using System.Security.Cryptography;
using ModelBridge.Rewriting;

namespace ModelBridge.Verify.Tests;

/// <summary>
/// The models from the wild in fixtures/real: each loads, is the file its provenance names, its
/// committed inputs reproduce the committed ORT reference outputs, and ModelBridge's image
/// preprocessing reproduces each committed input (written by numpy) from its photograph.
/// </summary>
[TestFixture]
public sealed class RealFixtureTests
{
    /// <summary>The fixtures and the sha256 of the file each was copied from (fixtures/real/README.md).</summary>
    private static readonly Dictionary<string, string> Expected = new(StringComparer.Ordinal)
    {
        ["ch_PP-OCRv4_det_infer"] = "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff",
        ["ch_ppocr_mobile_v2.0_cls_infer"] = "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640",
        ["version-RFB-320"] = "34cd7e60aeff28744c657de7a3dc64e872d506741de66987f3426f2b79f88017",
    };

    private static string Root => Path.Combine(TestPaths.Fixtures, "real");

    private static IEnumerable<string> Names() => Expected.Keys.Order(StringComparer.Ordinal);

    private static string Dir(string name) => Path.Combine(Root, name);

    private static ImagePreprocessing Preprocessing(string name) =>
        ImagePreprocessing.FromJson(File.ReadAllText(Path.Combine(Dir(name), "preprocess.json")));

    [Test]
    public void The_folder_holds_exactly_the_documented_models_byte_for_byte()
    {
        string[] found = [.. Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, "model.onnx"))).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.That(found, Is.EqualTo(Names()));
        Assert.Multiple(() =>
        {
            foreach (string name in Names())
            {
                string sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Dir(name), "model.onnx"))));
                Assert.That(sha, Is.EqualTo(Expected[name]), name);
            }
        });
    }

    [TestCaseSource(nameof(Names))]
    public void Loads_and_has_one_test_data_set_per_photograph(string name)
    {
        using Model model = Model.Load(Path.Combine(Dir(name), "model.onnx"));
        IReadOnlyList<string> images = ImageLoader.FindImages(Path.Combine(Dir(name), "images"));
        IReadOnlyList<string> sets = TestDataSet.FindFolders(Dir(name));

        Assert.That(model.Graph.Nodes, Is.Not.Empty);
        Assert.That(images, Has.Count.GreaterThanOrEqualTo(2), "at least two photographs per model");
        Assert.That(sets.Select(Path.GetFileName), Is.EqualTo(Enumerable.Range(0, images.Count).Select(k => $"test_data_set_{k}")));
        foreach (string set in sets)
        {
            TestDataSet data = TestDataSet.Read(set, model);
            Assert.That(data.Inputs, Has.Count.EqualTo(1), set);
            Assert.That(data.Outputs.Select(o => o.Name), Is.EqualTo(model.Graph.Outputs.Select(o => o.Name)), set);
        }
    }

    [TestCaseSource(nameof(Names))]
    public void Committed_inputs_reproduce_the_committed_outputs_in_ort(string name)
    {
        using Model model = Model.Load(Path.Combine(Dir(name), "model.onnx"));
        // ORT's default optimisation level, while the references were written with optimisations
        // off (tools/ModelBridge.FixtureGen): fusions may reorder float math, never by 1e-4.
        using var runner = new OrtRunner(Path.Combine(Dir(name), "model.onnx"), new OrtRunnerOptions { LogLevel = OrtLogLevel.Error });
        var failures = new List<string>();
        foreach (string set in TestDataSet.FindFolders(Dir(name)))
        {
            TestDataSet data = TestDataSet.Read(set, model);
            IReadOnlyDictionary<string, TensorData> outputs = runner.Run(data.InputsByName());
            foreach (NamedTensor expected in data.Outputs)
            {
                ParityMetrics c = ParityMetrics.Compare(expected.Data, outputs[expected.Name]);
                TestContext.Out.WriteLine($"{name}/{Path.GetFileName(set)}/{expected.Name}: relative-to-max {c.RelativeToMax:G3}, max |diff| {c.MaxAbsError:G3}");
                if (!c.IsWithin(1e-4))
                {
                    failures.Add($"{Path.GetFileName(set)}/{expected.Name}: {c}");
                }
            }
        }
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    [TestCaseSource(nameof(Names))]
    public void Image_preprocessing_reproduces_each_committed_input_bit_for_bit(string name)
    {
        using Model model = Model.Load(Path.Combine(Dir(name), "model.onnx"));
        IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples = ImageLoader.LoadSamples(Path.Combine(Dir(name), "images"), model, Preprocessing(name));
        IReadOnlyList<string> sets = TestDataSet.FindFolders(Dir(name));

        Assert.That(samples, Has.Count.EqualTo(sets.Count));
        Assert.Multiple(() =>
        {
            for (int k = 0; k < sets.Count; k++)
            {
                NamedTensor numpy = TestDataSet.Read(sets[k], model).Inputs.Single();
                TensorData mine = samples[k][numpy.Name];
                // make_inputs.py computed these with numpy in float32, step by step; the formula is
                // the same, so every element must be the same float.
                Assert.That(mine.Dims, Is.EqualTo(numpy.Data.Dims), $"sample {k}");
                Assert.That(mine.Equals(numpy.Data), Is.True, $"sample {k}: {(ParityMetrics.TryCompare(numpy.Data, mine, out ParityMetrics? d, out string? why) ? d : why)}");
            }
        });
    }

    [Test]
    public void Preprocessing_files_say_what_each_model_was_trained_on()
    {
        // The documented preprocessing (README): a change here changes every committed input.
        ImagePreprocessing rfb = Preprocessing("version-RFB-320");
        ImagePreprocessing det = Preprocessing("ch_PP-OCRv4_det_infer");
        ImagePreprocessing cls = Preprocessing("ch_ppocr_mobile_v2.0_cls_infer");
        Assert.Multiple(() =>
        {
            Assert.That(rfb, Is.EqualTo(new ImagePreprocessing { Width = 320, Height = 240, ChannelOrder = ChannelOrder.Rgb, Scale = 1, Mean = [127, 127, 127], Std = [128, 128, 128] }));
            Assert.That(det, Is.EqualTo(new ImagePreprocessing { ChannelOrder = ChannelOrder.Bgr, Scale = 1f / 255f, Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f] }));
            Assert.That(cls, Is.EqualTo(new ImagePreprocessing { Width = 192, Height = 48, ChannelOrder = ChannelOrder.Bgr, Scale = 1f / 255f, Mean = [0.5f, 0.5f, 0.5f], Std = [0.5f, 0.5f, 0.5f] }));
        });
    }

    [Test]
    public void Image_inputs_drive_a_parity_check_of_a_model_against_itself()
    {
        string name = "ch_ppocr_mobile_v2.0_cls_infer";
        using Model model = Model.Load(Path.Combine(Dir(name), "model.onnx"));
        ParityInputs inputs = ParityInputs.FromImages(Path.Combine(Dir(name), "images"), Preprocessing(name));

        ParityReport report = ParityChecker.Compare(model, model, ProvenanceMap.Identity(model.Graph), inputs);

        long[][] shapes = [.. inputs.Materialize(model).Select(s => s["x"].Dims.ToArray())];
        Assert.That(shapes, Has.Length.EqualTo(4).And.All.EqualTo(new long[] { 1, 3, 48, 192 }));
        Assert.That(report.Info.Inputs, Does.StartWith("4 images in 'images' (bgr, stretch to 192x48,"));
        Assert.That(report.Info.Samples, Is.EqualTo(4));
        Assert.That(report.Passed, Is.True, report.ToString());
    }
}
