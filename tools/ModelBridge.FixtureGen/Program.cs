using System.Globalization;
using Google.Protobuf;
using ModelBridge.Ir;
using ModelBridge.Onnx;
using ModelBridge.Verify;

// Writes the reference outputs of the real-model fixtures (fixtures/real/README.md).
//
// For each fixtures/real/<name>/ holding model.onnx, preprocess.json and images/:
//   1. preprocesses images/* with ModelBridge.Verify's ImageLoader and the options in preprocess.json;
//   2. checks that each tensor is bit-identical to test_data_set_K/input_0.pb, which
//      fixtures/real/make_inputs.py wrote with numpy (two independent implementations must agree);
//   3. runs ONNX Runtime on the ORIGINAL model.onnx (read by ORT itself, graph optimisations off,
//      one thread) and writes test_data_set_K/output_J.pb in graph-output order.
// input_0.pb is never rewritten. Usage (from the repository root):
//   /usr/bin/python3 fixtures/real/make_inputs.py
//   dotnet run -c Release --project tools/ModelBridge.FixtureGen [-- fixtures/real]

string root = args.Length > 0 ? args[0] : Path.Combine("fixtures", "real");
if (!Directory.Exists(root))
{
    Console.Error.WriteLine($"error: folder '{root}' does not exist; run from the repository root or pass fixtures/real.");
    return 2;
}
int failures = 0;
foreach (string dir in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
{
    string modelPath = Path.Combine(dir, "model.onnx");
    string preprocessPath = Path.Combine(dir, "preprocess.json");
    if (!File.Exists(modelPath) || !File.Exists(preprocessPath))
    {
        continue;
    }
    failures += Generate(dir, modelPath, preprocessPath);
}
return failures == 0 ? 0 : 1;

static int Generate(string dir, string modelPath, string preprocessPath)
{
    string name = Path.GetFileName(dir);
    ImagePreprocessing options = ImagePreprocessing.FromJson(File.ReadAllText(preprocessPath));
    using Model model = Model.Load(modelPath);
    IReadOnlyList<string> images = ImageLoader.FindImages(Path.Combine(dir, "images"));
    IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples = ImageLoader.LoadSamples(Path.Combine(dir, "images"), model, options);
    using var runner = new OrtRunner(modelPath, new OrtRunnerOptions { Optimization = GraphOptimization.Disabled, IntraOpThreads = 1, LogLevel = OrtLogLevel.Error });
    Console.WriteLine($"{name}: {options}");
    int failures = 0;
    for (int k = 0; k < samples.Count; k++)
    {
        string folder = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"test_data_set_{k}"));
        string image = Path.GetFileName(images[k]);
        if (!File.Exists(Path.Combine(folder, "input_0.pb")))
        {
            Console.Error.WriteLine($"error: {folder}/input_0.pb is missing; run fixtures/real/make_inputs.py first.");
            failures++;
            continue;
        }
        NamedTensor committed = TestDataSet.Read(folder, model).Inputs.Single();
        TensorData mine = samples[k][committed.Name];
        if (!committed.Data.Equals(mine))
        {
            object c = ParityMetrics.TryCompare(committed.Data, mine, out ParityMetrics? m, out string? why) ? m! : why!;
            Console.Error.WriteLine($"error: {name}/images/{image}: C# preprocessing differs from numpy's input_0.pb ({c}); outputs not written.");
            failures++;
            continue;
        }
        IReadOnlyDictionary<string, TensorData> outputs = runner.Run(samples[k]);
        var files = new List<(string, Action<Stream>)>();
        for (int j = 0; j < runner.OutputNames.Count; j++)
        {
            string output = runner.OutputNames[j];
            TensorData data = outputs[output];
            files.Add((Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"output_{j}.pb")), s => data.WriteTo(s, output)));
        }
        AtomicFile.WriteAll(files);
        Console.WriteLine($"  test_data_set_{k} <- images/{image}: {string.Join("; ", runner.OutputNames.Select(o => Summary(o, outputs[o])))}");
    }
    return failures;
}

// A line a person can check against the photograph.
static string Summary(string output, TensorData data)
{
    float[] v = data.ToFloatArray();
    string shape = string.Join("x", data.Dims);
    return output switch
    {
        // Ultra-Light: [1, anchors, 2] softmax (background, face).
        "scores" => Invariant($"scores {shape}, best face score {Enumerable.Range(0, v.Length / 2).Max(i => v[(2 * i) + 1]):F3}, {Enumerable.Range(0, v.Length / 2).Count(i => v[(2 * i) + 1] > 0.7f)} anchors > 0.7"),
        // PaddleOCR DB: text probability map; PaddleOCR binarises it at 0.3.
        "sigmoid_0.tmp_0" => Invariant($"text map {shape}, {100.0 * v.Count(p => p > 0.3f) / v.Length:F2}% of pixels > 0.3, max {v.Max():F3}"),
        // PaddleOCR direction classifier: labels '0' and '180'.
        "softmax_0.tmp_0" => Invariant($"direction {(v[1] > v[0] ? "180" : "0")} (p = {Math.Max(v[0], v[1]):F4})"),
        _ => Invariant($"{output} {shape}, range [{v.Min():G4}, {v.Max():G4}]"),
    };
}

static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
