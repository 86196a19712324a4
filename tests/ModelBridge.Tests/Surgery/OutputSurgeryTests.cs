using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Surgery;
using ModelBridge.Verify;

namespace ModelBridge.Tests.Surgery;

/// <summary>The surgery as the convert command runs it: canonicalisation, then the surgery passes, then the manifest.</summary>
[TestFixture]
public sealed class OutputSurgeryTests
{
    private static readonly OutputSurgeryOptions Full = new()
    {
        DropLevels = [3],
        KeepClasses = [0, 2, 4],
        RenamePattern = "output_{index}",
        Order = ["cls", "box"],
        CanonicalizeNames = true,
    };

    private static (byte[] Model, string Manifest, string Map) Convert(string fixture, OutputSurgeryOptions options, string dir)
    {
        using Model original = SurgeryTesting.Fixture(fixture);
        using Model m = original.Clone();
        PipelineResult r = new Pipeline([.. Pipeline.Canonical().Passes, .. Pipeline.ForSurgery(options, m.Graph).Passes]).Run(m);
        m.Save(Path.Combine(dir, "out.onnx"));
        OutputManifest.Create(original, m, r.Provenance, options).Write(Path.Combine(dir, "out.manifest.json"));
        return (File.ReadAllBytes(Path.Combine(dir, "out.onnx")), File.ReadAllText(Path.Combine(dir, "out.manifest.json")), r.Provenance.ToJson());
    }

    [Test]
    public void Passes_come_in_order_and_only_when_asked_for()
    {
        using Model m = SurgeryTesting.TinyDetector();
        Assert.That(Pipeline.ForSurgery(new OutputSurgeryOptions(), m.Graph).Passes, Is.Empty);
        Assert.That(Pipeline.ForSurgery(Full with { KeepClasses = [0, 2], KeepAnchors = [1] }, m.Graph).Passes.Select(p => p.Id),
            Is.EqualTo(new[] { "prune-outputs", "slice-head-channels", "rename-outputs", "canonicalize-value-names" }));
        Assert.That(() => Pipeline.ForSurgery(new OutputSurgeryOptions { KeepClasses = [3] }, m.Graph).Passes, Throws.ArgumentException.With.Message.Contains("class id 3"));
    }

    [Test]
    public void Golden_tiny_detector_full_surgery()
    {
        using Model m = SurgeryTesting.TinyDetector();
        OutputSurgery.Run(m, Full with { DropLevels = [], KeepAnchors = [1], KeepClasses = [0, 2], RenamePattern = "{kind}_{level}", Order = ["box", "cls"] });
        Golden.AssertMatches("output-surgery-tiny-detector", GraphPrinter.Print(m.Graph));
    }

    [Test]
    public void Converting_the_same_model_twice_gives_identical_files()
    {
        using var a = TestPaths.NewTempDir();
        using var b = TestPaths.NewTempDir();
        var first = Convert("retinanet_mbv2_gn_op13", Full, a.Path);
        var second = Convert("retinanet_mbv2_gn_op13", Full, b.Path);
        Assert.That(second.Model, Is.EqualTo(first.Model), "byte-identical ONNX");
        Assert.That(second.Manifest, Is.EqualTo(first.Manifest), "byte-identical manifest");
        Assert.That(second.Map, Is.EqualTo(first.Map), "byte-identical tensor map");
    }

    [Test]
    public void Converted_detector_matches_the_pytorch_reference_for_what_it_keeps()
    {
        string dir = Path.Combine(TestPaths.Fixtures, "retinanet_mbv2_gn_op13");
        using Model m = Model.Load(Path.Combine(dir, "model.onnx"));
        TestDataSet data = TestDataSet.Read(Path.Combine(dir, "test_data_set_0"), m);
        PipelineResult r = new Pipeline([.. Pipeline.Canonical().Passes, .. Pipeline.ForSurgery(Full, m.Graph).Passes]).Run(m);
        Assert.That(m.Graph.Outputs, Has.Count.EqualTo(8));
        var outputs = Numerics.Run(m, data.InputsByName());
        var reference = data.OutputsByName();
        foreach (Value o in m.Graph.Outputs)
        {
            TensorOrigin origin = r.Provenance.Get(o.Name)!;
            TensorData expected = origin.Slice is { } s ? SurgeryTesting.SliceChannels(reference[origin.Original!], s.Axis, s.Indices) : reference[origin.Original!];
            double err = Numerics.RelativeToMax(expected, outputs[o.Name]);
            Assert.That(err, Is.LessThanOrEqualTo(1e-4), $"{o.Name} ({origin.Original}): relative-to-max error {err:G3}");
        }
    }

    [Test]
    public void Manifest_describes_each_output()
    {
        using Model original = SurgeryTesting.Fixture("retinanet_resnet_bn_op13");
        using Model m = original.Clone();
        PipelineResult r = OutputSurgery.Run(m, Full with { KeepAnchors = [0, 4, 8] });
        OutputManifest manifest = OutputManifest.Create(original, m, r.Provenance, Full);
        Assert.That(manifest.Format, Is.EqualTo("modelbridge-output-manifest/1"));
        Assert.That((manifest.Layout, manifest.Anchors, manifest.Classes), Is.EqualTo(("anchor-major", (int?)9, (int?)5)));
        ManifestTensor input = manifest.Inputs.Single();
        Assert.That((input.Name, input.OriginalName, input.DType), Is.EqualTo(("input", "input", "float")));
        Assert.That(input.Shape, Is.EqualTo(new long[] { 1, 3, 128, 128 }));
        Assert.That(manifest.Outputs.Select(o => o.Index), Is.EqualTo(Enumerable.Range(0, 8)));
        Assert.That(manifest.Outputs.Select(o => o.Name), Is.EqualTo(Enumerable.Range(0, 8).Select(i => $"output_{i}")));
        Assert.That(manifest.Outputs.Select(o => o.OriginalName),
            Is.EqualTo(new[] { "cls_p4", "cls_p5", "cls_p6", "cls_p7", "box_p4", "box_p5", "box_p6", "box_p7" }));
        Assert.That(manifest.Outputs.Select(o => o.Head!.Stride), Is.EqualTo(new int?[] { 16, 32, 64, 128, 16, 32, 64, 128 }));
        ManifestTensor cls = manifest.Outputs[0];
        Assert.That(cls.Shape, Is.EqualTo(new long[] { 1, 9, 8, 8 }), "3 anchors × 3 classes");
        Assert.That(cls.DType, Is.EqualTo("float"));
        Assert.That((cls.Head!.Kind, cls.Head.Level, cls.Head.AnchorsPerLocation, cls.Head.ClassCount), Is.EqualTo(("cls", 4, (int?)3, (int?)3)));
        Assert.That(cls.Head.KeptClassIds, Is.EqualTo(new[] { 0, 2, 4 }));
        Assert.That(cls.Head.KeptAnchorIds, Is.EqualTo(new[] { 0, 4, 8 }));
        ManifestTensor box = manifest.Outputs[4];
        Assert.That(box.Shape, Is.EqualTo(new long[] { 1, 12, 8, 8 }));
        Assert.That((box.Head!.ClassCount, box.Head.KeptClassIds), Is.EqualTo(((int?)null, (IReadOnlyList<int>?)null)));
        Assert.That(box.Head.KeptAnchorIds, Is.EqualTo(new[] { 0, 4, 8 }));

        string json = manifest.ToJson();
        Assert.That(json, Does.Contain("\"dtype\": \"float\"").And.Contain("\"keptClassIds\""));
        Assert.That(OutputManifest.FromJson(json).ToJson(), Is.EqualTo(json));
    }

    [Test]
    public void Manifest_of_a_model_without_heads_has_no_head_fields()
    {
        using Model original = SurgeryTesting.Fixture("resnet_small");
        using Model m = original.Clone();
        PipelineResult r = OutputSurgery.Run(m, new OutputSurgeryOptions { RenamePattern = "output_{index}" });
        OutputManifest manifest = OutputManifest.Create(original, m, r.Provenance);
        Assert.That(manifest.Layout, Is.Null);
        ManifestTensor o = manifest.Outputs.Single();
        Assert.That((o.Name, o.OriginalName, o.Head), Is.EqualTo(("output_0", "logits", (ManifestHead?)null)));
        Assert.That(o.Shape, Is.EqualTo(new long[] { 1, 10 }));
    }

    [Test]
    public void Heads_can_be_described_by_an_explicit_map()
    {
        using Model original = SurgeryTesting.TinyDetector();
        using Model m = original.Clone();
        new Pipeline([new RenameOutputs(map: new Dictionary<string, string> { ["cls_p3"] = "logits_s8", ["box_p3"] = "deltas_s8" })]).Run(m);
        // A model whose outputs are not named cls_p3: describe them by a map (here: the renamed model as a new original).
        using Model renamed = m.Clone();
        var heads = new DetectorHeads { Map = new Dictionary<string, string> { ["logits_s8"] = "cls_p3", ["deltas_s8"] = "box_p3" } };
        PipelineResult r = OutputSurgery.Run(renamed, new OutputSurgeryOptions { Heads = heads, KeepClasses = [1] });
        Assert.That(renamed.Graph.GetValue("logits_s8").DeclaredType!.Shape!.Dims[1].Value, Is.EqualTo(2));
        Assert.That(renamed.Graph.GetValue("cls_p4").DeclaredType!.Shape!.Dims[1].Value, Is.EqualTo(6), "cls_p4 is not in the map, so it is no head");
        Assert.That(OutputManifest.Create(m, renamed, r.Provenance, new OutputSurgeryOptions { Heads = heads }).Outputs[0].Head!.KeptClassIds, Is.EqualTo(new[] { 1 }));
    }
}
