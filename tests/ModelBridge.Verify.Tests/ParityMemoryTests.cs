using ModelBridge.Rewriting;
using ModelBridge.Verify.Reports;

namespace ModelBridge.Verify.Tests;

/// <summary>What a parity check holds in memory: the budget, dynamic shapes, weights left in their file.</summary>
[TestFixture]
public sealed class ParityMemoryTests
{
    /// <summary><c>x -> Relu -> Neg -> Abs</c> on float[dims].</summary>
    private static Model Chain(TensorShape shape)
    {
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, shape));
        Value a = g.AddNode("Relu", [x], ["a"]).Outputs[0]!;
        Value b = g.AddNode("Neg", [a], ["b"]).Outputs[0]!;
        Value c = g.AddNode("Abs", [b], ["c"]).Outputs[0]!;
        g.SetOutputs([c]);
        return model;
    }

    private static ParityInputs Sample(params long[] dims)
    {
        var rng = new Random(3);
        long n = dims.Aggregate(1L, (p, d) => p * d);
        float[] values = [.. Enumerable.Range(0, (int)n).Select(_ => (float)rng.NextDouble() - 0.5f)];
        return ParityInputs.FromTensors(new Dictionary<string, TensorData> { ["x"] = TensorData.Create<float>(dims, values) });
    }

    [Test]
    public void The_measured_exposed_bytes_stay_within_the_budget_and_are_reported()
    {
        // float[1,8,512,512] is 8 MiB per graph: one pair (16 MiB) per chunk under a 20 MiB budget,
        // and only the chunk's own tensors are fetched (the graph output 'c' is not returned with 'a').
        using Model m = Chain(TensorShape.Of(1, 8, 512, 512));
        ParityReport r = ParityChecker.Compare(m, m, ProvenanceMap.Identity(m.Graph), Sample(1, 8, 512, 512),
            new ParityOptions { MaxMemoryBytes = 20 << 20 });
        Assert.That(r.Passed, Is.True, r.ToString());
        Assert.That(r.Info.Chunks, Is.EqualTo(3));
        Assert.That(r.Info.ExposedPeakBytes, Is.EqualTo(16 << 20));
        Assert.That(r.Info.ExposedPeakBytes, Is.LessThanOrEqualTo(r.Info.MaxMemoryBytes));
        Assert.That(r.Info.Warnings, Is.Empty);
        using var doc = System.Text.Json.JsonDocument.Parse(ParityJson.Write(r));
        Assert.That(doc.RootElement.GetProperty("run").GetProperty("exposedPeakBytes").GetInt64(), Is.EqualTo(16 << 20));
    }

    [Test]
    public void A_dynamic_model_is_sized_from_its_inputs_like_the_static_one()
    {
        // 128 KiB per tensor and graph: all three pairs (768 KiB) fit one chunk of a 1 MiB budget. Sized
        // from symbolic shapes alone, each would be guessed at 64 MiB and get a chunk of its own.
        using Model fixedShape = Chain(TensorShape.Of(1, 8, 64, 64));
        using Model dynamic = Chain(new TensorShape([Dim.Sym("N"), Dim.Of(8), Dim.Sym("H"), Dim.Sym("W")]));
        var options = new ParityOptions { MaxMemoryBytes = 1 << 20 };
        ParityReport s = ParityChecker.Compare(fixedShape, fixedShape, ProvenanceMap.Identity(fixedShape.Graph), Sample(1, 8, 64, 64), options);
        ParityReport d = ParityChecker.Compare(dynamic, dynamic, ProvenanceMap.Identity(dynamic.Graph), Sample(1, 8, 64, 64), options);
        Assert.That(s.Info.Chunks, Is.EqualTo(1));
        Assert.That(d.Info.Chunks, Is.EqualTo(s.Info.Chunks));
        Assert.That(d.Info.LargestChunkBytes, Is.EqualTo(s.Info.LargestChunkBytes));
        Assert.That(d.Info.ExposedPeakBytes, Is.EqualTo(768 << 10));
        Assert.That(d.Info.Warnings, Is.Empty, "every shape is known once the inputs' dims are bound");
        Assert.That(dynamic.Graph.Inputs[0].DeclaredType!.Shape!.Dims[2].Symbol, Is.EqualTo("H"), "the caller's model keeps its symbols");
    }

    [Test]
    public void A_mapped_model_whose_file_was_replaced_still_runs_its_own_weights()
    {
        // Mapped weights are handed to ORT as references into their file; once the file at that path is
        // another one (same length, zeros), the mapped bytes must be serialised instead.
        string fixture = Path.Combine(TestPaths.Fixtures, "resnet_small");
        using TempDir dir = TestPaths.NewTempDir();
        string path = dir.File("model.onnx");
        File.Copy(Path.Combine(fixture, "model.onnx"), path);
        using Model model = Model.Load(path, new LoadOptions { MemoryMapThreshold = 1 });
        string other = dir.File("other.onnx");
        File.WriteAllBytes(other, new byte[new FileInfo(path).Length]);
        File.SetLastWriteTimeUtc(other, File.GetLastWriteTimeUtc(path).AddSeconds(5));
        File.Move(other, path, overwrite: true);

        TestDataSet data = TestDataSet.Read(Path.Combine(fixture, "test_data_set_0"), model);
        using var runner = new OrtRunner(model);
        IReadOnlyDictionary<string, TensorData> outputs = runner.Run(data.InputsByName());
        NamedTensor expected = data.Outputs[0];
        Assert.That(ParityMetrics.Compare(expected.Data, outputs[expected.Name]).IsWithin(1e-4), Is.True);
    }

    [Test]
    public void A_mapped_model_opened_through_a_symbolic_link_runs()
    {
        // Mapped at the target's size (a link's FileInfo reports the link's own few bytes), and run
        // with its weights referenced in the target file.
        string fixture = Path.Combine(TestPaths.Fixtures, "resnet_small");
        using TempDir dir = TestPaths.NewTempDir();
        string link = dir.File("linked.onnx");
        File.CreateSymbolicLink(link, Path.Combine(fixture, "model.onnx"));
        using Model model = Model.Load(link, new LoadOptions { MemoryMapThreshold = 1 });
        TestDataSet data = TestDataSet.Read(Path.Combine(fixture, "test_data_set_0"), model);
        using var runner = new OrtRunner(model);
        IReadOnlyDictionary<string, TensorData> outputs = runner.Run(data.InputsByName());
        NamedTensor expected = data.Outputs[0];
        Assert.That(ParityMetrics.Compare(expected.Data, outputs[expected.Name]).IsWithin(1e-4), Is.True);
    }

    [Test]
    public void A_model_too_large_to_serialise_inline_runs_from_a_temporary_copy_with_its_outputs()
    {
        // The 1 GiB inline limit lowered to 0: the runtime model goes to a temporary folder with its
        // weights in a side file, extra outputs included; outputs equal the inline run's, and the
        // temporary folder is gone after Dispose.
        string fixture = Path.Combine(TestPaths.Fixtures, "resnet_small");
        using Model model = Model.Load(Path.Combine(fixture, "model.onnx"));
        TestDataSet data = TestDataSet.Read(Path.Combine(fixture, "test_data_set_0"), model);
        string inner = model.Graph.TopologicalOrder()[3].Outputs[0]!.Name;
        var options = new OrtRunnerOptions { ExtraOutputs = [inner] };
        IReadOnlyDictionary<string, TensorData> inline, spilled;
        using (var runner = new OrtRunner(model, options))
        {
            inline = runner.Run(data.InputsByName());
        }
        string[] before = Directory.GetDirectories(Path.GetTempPath(), "modelbridge-ort-*");
        using (var runner = new OrtRunner(model, options with { InlineLimit = 0 }))
        {
            Assert.That(Directory.GetDirectories(Path.GetTempPath(), "modelbridge-ort-*").Except(before), Has.Exactly(1).Items);
            spilled = runner.Run(data.InputsByName());
        }
        Assert.That(Directory.GetDirectories(Path.GetTempPath(), "modelbridge-ort-*").Except(before), Is.Empty);
        Assert.That(spilled.Keys, Is.EquivalentTo(inline.Keys));
        Assert.That(spilled[inner], Is.EqualTo(inline[inner]));
        Assert.That(spilled[data.Outputs[0].Name], Is.EqualTo(inline[data.Outputs[0].Name]));
    }
}
