namespace ModelBridge.Verify.Tests;

/// <summary>Every committed fixture runs in ModelBridge's ORT layer and matches PyTorch's own outputs.</summary>
[TestFixture]
public sealed class FixtureReferenceTests
{
    private static string FixturesDir
    {
        get
        {
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "ModelBridge.sln")))
            {
                dir = Path.GetDirectoryName(dir);
            }
            return Path.Combine(dir ?? throw new DirectoryNotFoundException("ModelBridge.sln"), "fixtures");
        }
    }

    /// <summary>
    /// Read into memory (weights serialised for ORT) and memory-mapped (weights left in the file and
    /// referenced as external data, which ORT reads itself): both must reproduce PyTorch.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void Every_fixture_matches_its_pytorch_reference(bool mapped)
    {
        var load = new LoadOptions { MemoryMapThreshold = mapped ? 1 : long.MaxValue };
        string[] folders = [.. Directory.GetDirectories(FixturesDir).Where(d => File.Exists(Path.Combine(d, "model.onnx"))).Order(StringComparer.Ordinal)];
        Assert.That(folders, Is.Not.Empty, "no fixtures found");
        var failures = new List<string>();
        foreach (string dir in folders)
        {
            using Model model = Model.Load(Path.Combine(dir, "model.onnx"), load);
            TestDataSet data = TestDataSet.Read(Path.Combine(dir, "test_data_set_0"), model);
            using var runner = new OrtRunner(model);
            var outputs = runner.Run(data.InputsByName());
            double worst = 0;
            foreach (NamedTensor expected in data.Outputs)
            {
                ParityMetrics c = ParityMetrics.Compare(expected.Data, outputs[expected.Name]);
                worst = Math.Max(worst, c.RelativeToMax);
                if (!c.IsWithin(1e-4))
                {
                    failures.Add($"{Path.GetFileName(dir)}/{expected.Name}: {c.RelativeToMax:G3}");
                }
            }
            TestContext.Out.WriteLine($"{Path.GetFileName(dir),-28} {data.Outputs.Count,2} outputs, worst relative-to-max error {worst:G3}");
        }
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }
}
