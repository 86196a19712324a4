using ModelBridge.Rewriting;
using ModelBridge.Verify.Reports;

namespace ModelBridge.Verify.Tests;

/// <summary>The parity checker on small hand-built graphs.</summary>
[TestFixture]
public sealed class ParityCheckerTests
{
    /// <summary><c>x -> Relu -> a -> Mul(a, k) -> b -> Neg -> y</c> on float[1,8,16,16].</summary>
    private static Model Chain(float k = 2f, long size = 16)
    {
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(1, 8, size, size)));
        Value factor = g.AddInitializer("k", Tensor.Create<float>([], [k]));
        Value a = g.AddNode("Relu", [x], ["a"], name: "relu").Outputs[0]!;
        Value b = g.AddNode("Mul", [a, factor], ["b"], name: "mul").Outputs[0]!;
        Value y = g.AddNode("Neg", [b], ["y"], name: "neg").Outputs[0]!;
        g.SetOutputs([y]);
        return model;
    }

    private static ParityInputs Samples(int n = 2) => ParityInputs.Random(n, 7, InputDistribution.Normal(0, 1));

    [Test]
    public void Identical_graphs_pass()
    {
        using Model m = Chain();
        ParityReport r = ParityChecker.Compare(m, m, ProvenanceMap.Identity(m.Graph), Samples());
        Assert.That(r.Passed, Is.True, r.ToString());
        Assert.That(r.Tensors.Select(t => t.Original), Is.EqualTo(new[] { "a", "b", "y" }), "topological order, inputs and constants left out");
        Assert.That(r.Tensors.All(t => t.Metrics.MaxAbsError == 0), Is.True);
        Assert.DoesNotThrow(() => ParityAssert.That(r).Passes());
        Assert.That(r.Info.Samples, Is.EqualTo(2));
    }

    [Test]
    public void A_wrong_constant_is_the_first_divergence_and_local()
    {
        using Model original = Chain();
        using Model broken = Chain(2.01f);
        ParityReport r = ParityChecker.Compare(original, broken, ProvenanceMap.Identity(broken.Graph), Samples());
        Assert.That(r.Passed, Is.False);
        Assert.That(r.FirstDivergence!.Original, Is.EqualTo("b"));
        Assert.That(r.FirstDivergence.Local!.Passed, Is.False, "b's region (the Mul) introduces the error");
        Assert.That(r.FirstDivergence.Local.Boundary, Is.EqualTo(new[] { "a" }));
        TensorParity y = r.Find("y")!;
        Assert.That(y.Passed, Is.False, "y carries the error");
        Assert.That(y.Local!.Passed, Is.True, "fed b's original value, Neg is exact");
        var ex = Assert.Throws<ParityAssertionException>(() => ParityAssert.That(r).Passes())!;
        Assert.That(ex.Message, Does.Contain("'b'").And.Contain("introduced here").And.Contain("max|d|"));
        Assert.That(ex.Report, Is.SameAs(r));
    }

    [Test]
    public void A_tiny_memory_budget_gives_many_chunks_and_the_same_metrics()
    {
        // Each tensor is 512 KiB per graph, 1 MiB per pair: a 1 MiB budget takes one pair per chunk.
        using Model original = Chain(size: 128);
        using Model broken = Chain(2.01f, 128);
        ParityReport one = ParityChecker.Compare(original, broken, ProvenanceMap.Identity(broken.Graph), Samples());
        var progress = new List<ParityProgress>();
        ParityReport many = ParityChecker.Compare(original, broken, ProvenanceMap.Identity(broken.Graph), Samples(),
            new ParityOptions { MaxMemoryBytes = 1 << 20 }, new SyncProgress(progress.Add));
        Assert.That(one.Info.Chunks, Is.EqualTo(1));
        Assert.That(many.Info.Chunks, Is.EqualTo(3));
        Assert.That(many.Tensors.Select(t => t.Metrics), Is.EqualTo(one.Tensors.Select(t => t.Metrics)));
        Assert.That(progress.Where(p => p.Phase == "compare").Select(p => p.Completed), Is.EqualTo(new[] { 1, 2, 3 }));
    }

    [Test]
    public void Chunks_respect_the_budget()
    {
        // float[1,8,512,512] is 8 MiB per graph, 16 MiB per pair: a 20 MiB budget fits one pair per chunk.
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(1, 8, 512, 512)));
        Value a = g.AddNode("Relu", [x], ["a"]).Outputs[0]!;
        Value b = g.AddNode("Neg", [a], ["b"]).Outputs[0]!;
        Value c = g.AddNode("Abs", [b], ["c"]).Outputs[0]!;
        g.SetOutputs([c]);
        ParityReport r = ParityChecker.Compare(model, model, ProvenanceMap.Identity(g), ParityInputs.Random(1),
            new ParityOptions { MaxMemoryBytes = 20 << 20 });
        Assert.That(r.Info.Chunks, Is.EqualTo(3));
        Assert.That(r.Info.LargestChunkBytes, Is.EqualTo(16 << 20));
        Assert.That(r.Info.PeakWorkingSetBytes, Is.GreaterThan(0));
        Assert.That(r.Passed, Is.True);
    }

    [Test]
    public void Channel_slices_compare_the_kept_channels()
    {
        using Model original = Chain();
        // The rewritten graph keeps channels 1 and 5 of 'a' before the Mul.
        var rewritten = new Model(opsetVersion: 17);
        Graph g = rewritten.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(1, 8, 16, 16)));
        Value idx = g.AddInitializer("idx", Tensor.Create<long>([2], [1, 5]));
        Value a = g.AddNode("Relu", [x], ["a"]).Outputs[0]!;
        Node gather = g.AddNode("Gather", [a, idx], ["a_kept"]);
        gather.SetInt("axis", 1);
        g.SetOutputs([gather.Outputs[0]!]);
        var json = """{"format":"modelbridge-tensor-map/1","tensors":[{"name":"a","original":"a","exact":true},{"name":"a_kept","original":"a","exact":true,"slice":{"axis":1,"indices":[1,5]}}]}""";
        ParityReport r = ParityChecker.Compare(original, rewritten, ProvenanceMap.FromJson(json), Samples(1));
        Assert.That(r.Passed, Is.True, r.ToString());
        Assert.That(r.Find("a_kept")!.Shape, Is.EqualTo(new long[] { 1, 2, 16, 16 }));
    }

    [Test]
    public void Cancellation_stops_the_check()
    {
        using Model m = Chain();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => ParityChecker.Compare(m, m, ProvenanceMap.Identity(m.Graph), Samples(), null, null, cts.Token));
    }

    [Test]
    public void Bisection_names_the_pass_from_the_replays()
    {
        using Model original = Chain();
        using Model broken = Chain(2.01f);
        // A fake three-pass conversion whose second pass breaks the constant.
        string[] passes = ["p1", "p2", "p3"];
        var bisection = new PassBisection(passes, (disabled, _) =>
        {
            Model m = Chain(disabled.Contains("p2") ? 2f : 2.01f);
            return new ConversionReplay(m, ProvenanceMap.Identity(m.Graph));
        });
        ParityReport r = ParityChecker.Compare(original, broken, ProvenanceMap.Identity(broken.Graph), Samples(),
            new ParityOptions { Attribution = bisection });
        Assert.That(r.FirstDivergence!.Attribution!.PassId, Is.EqualTo("p2"), r.FirstDivergence.Attribution.Detail);
        Assert.That(ParityAssertion.Describe(r), Does.Contain("responsible pass: p2"));
    }

    [Test]
    public void Reports_are_written_and_well_formed()
    {
        using Model original = Chain();
        using Model broken = Chain(2.01f);
        ParityReport r = ParityChecker.Compare(original, broken, ProvenanceMap.Identity(broken.Graph), Samples());
        using var dir = TestPaths.NewTempDir();
        IReadOnlyList<string> files = ParityReportWriter.WriteAll(r, dir.Path);
        Assert.That(files.Select(Path.GetFileName), Is.EqualTo(new[] { "parity.json", "parity.md", "parity.html" }));
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(files[0]));
        Assert.That(doc.RootElement.GetProperty("passed").GetBoolean(), Is.False);
        Assert.That(doc.RootElement.GetProperty("firstDivergence").GetString(), Is.EqualTo("b"));
        var b = doc.RootElement.GetProperty("tensors").EnumerateArray().First(t => t.GetProperty("original").GetString() == "b");
        Assert.That(b.GetProperty("verdict").GetString(), Is.EqualTo("fail"));
        Assert.That(b.GetProperty("provenance").GetProperty("contract").GetProperty("exact").GetBoolean(), Is.True);
        Assert.That(b.GetProperty("metrics").GetProperty("maxAbs").GetDouble(), Is.GreaterThan(0));
        Assert.That(b.GetProperty("local").GetProperty("verdict").GetString(), Is.EqualTo("fail"));
        Assert.That(File.ReadAllText(files[1]), Does.StartWith("# Parity: FAIL").And.Contain("First divergence"));
        string html = File.ReadAllText(files[2]);
        Assert.That(html, Does.Contain("<svg").And.Contain("first divergence: b").And.Contain("<script>").And.Contain("tolerance"));
        Assert.That(html, Does.Not.Contain("http://").And.Not.Contain("https://").Or.Contain("xmlns=\"http://www.w3.org/2000/svg\""));
        Assert.That(Directory.GetFiles(dir.Path, "*.tmp", SearchOption.AllDirectories), Is.Empty, "no temporary files left");
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; this reports synchronously.</summary>
    private sealed class SyncProgress(Action<ParityProgress> report) : IProgress<ParityProgress>
    {
        public void Report(ParityProgress value) => report(value);
    }
}
