using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Surgery;
using ModelBridge.Tests.Surgery;
using ModelBridge.Verify;

namespace ModelBridge.Tests.Surgery;

[TestFixture]
public sealed class SliceHeadChannelsTests
{
    private static readonly HeadGeometry Tiny = new(Anchors: 2, Classes: 3);

    private static Pipeline Slice(HeadGeometry geometry, int[]? classes, int[]? anchors, HeadLayout layout = HeadLayout.AnchorMajor) =>
        new([new SliceHeadChannels(geometry, layout, classes, anchors)]);

    /// <summary>The channels a·W + v (anchor-major) or v·A + a (class-major), written out independently of the pass.</summary>
    private static long[] Expected(int anchorsTotal, int width, int[] anchors, int[] values, HeadLayout layout) => layout == HeadLayout.AnchorMajor
        ? [.. anchors.SelectMany(a => values.Select(v => (long)(a * width) + v))]
        : [.. values.SelectMany(v => anchors.Select(a => (long)(v * anchorsTotal) + a))];

    [Test]
    public void Slices_the_class_head_and_shares_the_sliced_weight()
    {
        using Model m = SurgeryTesting.TinyDetector();
        PipelineResult r = Slice(Tiny, [0, 2], null).Run(m);
        Node[] cls = [.. m.Graph.Nodes.Where(n => n.Outputs[0]!.Name.StartsWith("cls_", StringComparison.Ordinal))];
        Assert.That(cls.Select(n => n.Name), Is.EquivalentTo(new[] { "/head/cls/Conv", "/head/cls_1/Conv" }), "the new convs keep the names of the convs they replace");
        Assert.That(cls.Select(n => n.Inputs[1]).Distinct().Count(), Is.EqualTo(1), "one sliced weight for both levels");
        Assert.That(cls[0].Inputs[1]!.Initializer!.Dims, Is.EqualTo(new long[] { 4, 4, 1, 1 }));
        Assert.That(m.Graph.FindValue("head.cls.weight"), Is.Null, "the unsliced weight is gone once nothing reads it");
        Assert.That(m.Graph.FindValue("head.box.weight")!.Uses, Has.Count.EqualTo(2), "box heads are untouched by a class subset");
        Assert.That(m.Graph.GetValue("cls_p3").DeclaredType!.Shape!.Dims[1].Value, Is.EqualTo(4));
        TensorOrigin origin = r.Provenance.Get("cls_p4")!;
        Assert.That(origin.Original, Is.EqualTo("cls_p4"));
        Assert.That(origin.Slice!.Axis, Is.EqualTo(1));
        Assert.That(origin.Slice.Indices, Is.EqualTo(new long[] { 0, 2, 3, 5 }));
    }

    [Test]
    public void Golden_tiny_detector_classes_0_2()
    {
        using Model m = SurgeryTesting.TinyDetector();
        Slice(Tiny, [0, 2], null).Run(m);
        Golden.AssertMatches("slice-head-channels-tiny-detector", GraphPrinter.Print(m.Graph));
    }

    [TestCase(HeadLayout.AnchorMajor)]
    [TestCase(HeadLayout.ClassMajor)]
    public void Kept_channels_are_bit_identical_on_the_tiny_detector(HeadLayout layout)
    {
        using Model original = SurgeryTesting.TinyDetector();
        using Model m = original.Clone();
        PipelineResult r = Slice(Tiny, [2, 0], [1], layout).Run(m);
        Assert.That(r.Provenance.Get("cls_p3")!.Slice!.Indices, Is.EqualTo(Expected(2, 3, [1], [2, 0], layout)));
        Assert.That(r.Provenance.Get("box_p3")!.Slice!.Indices, Is.EqualTo(Expected(2, 4, [1], [0, 1, 2, 3], layout)));
        SurgeryTesting.AssertOutputsEqualOriginals(original, m, r.Provenance);
    }

    [TestCaseSource(typeof(SurgeryTesting), nameof(SurgeryTesting.RetinaNets))]
    public void Keeping_three_classes_keeps_those_channels_of_every_anchor(string fixture)
    {
        using Model original = SurgeryTesting.Fixture(fixture);
        using Model m = original.Clone();
        var options = new OutputSurgeryOptions { KeepClasses = [0, 2, 4] };
        PipelineResult r = OutputSurgery.Run(m, options);
        long[] channels = Expected(9, 5, [.. Enumerable.Range(0, 9)], [0, 2, 4], HeadLayout.AnchorMajor);
        var inputs = SurgeryTesting.Inputs(original);
        var before = Numerics.Run(original, inputs);
        var after = Numerics.Run(m, inputs);
        foreach (Value o in m.Graph.Outputs)
        {
            bool cls = o.Name.StartsWith("cls_", StringComparison.Ordinal);
            TensorData expected = cls ? SurgeryTesting.SliceChannels(before[o.Name], 1, channels) : before[o.Name];
            Assert.That(after[o.Name].Dims[1], Is.EqualTo(cls ? 27 : 36));
            Numerics.AssertClose(o.Name, expected, after[o.Name], NumericContract.Exact);
        }
        Assert.That(m.Graph.Nodes.Where(n => n.Outputs[0]!.Name.StartsWith("cls_", StringComparison.Ordinal)).Select(n => n.Inputs[1]).Distinct().Count(),
            Is.EqualTo(1), "the shared head conv is sliced once");
        OutputManifest manifest = OutputManifest.Create(original, m, r.Provenance, options);
        ManifestHead head = manifest.Outputs.Single(o => o.Name == "cls_p4").Head!;
        Assert.That(head.KeptClassIds, Is.EqualTo(new[] { 0, 2, 4 }));
        Assert.That(head.ClassCount, Is.EqualTo(3));
        Assert.That(head.AnchorsPerLocation, Is.EqualTo(9));
        Assert.That(head.KeptAnchorIds, Is.Null);
    }

    [TestCaseSource(typeof(SurgeryTesting), nameof(SurgeryTesting.RetinaNets))]
    public void Keeping_anchors_slices_class_and_box_heads(string fixture)
    {
        using Model original = SurgeryTesting.Fixture(fixture);
        using Model m = original.Clone();
        var options = new OutputSurgeryOptions { KeepAnchors = [0, 4, 8] };
        PipelineResult r = OutputSurgery.Run(m, options);
        Assert.That(m.Graph.GetValue("cls_p3").DeclaredType!.Shape!.Dims[1].Value, Is.EqualTo(15));
        Assert.That(m.Graph.GetValue("box_p3").DeclaredType!.Shape!.Dims[1].Value, Is.EqualTo(12));
        Assert.That(r.Provenance.Get("box_p5")!.Slice!.Indices, Is.EqualTo(Expected(9, 4, [0, 4, 8], [0, 1, 2, 3], HeadLayout.AnchorMajor)));
        SurgeryTesting.AssertOutputsEqualOriginals(original, m, r.Provenance);
        OutputManifest manifest = OutputManifest.Create(original, m, r.Provenance, options);
        Assert.That(manifest.Outputs.Select(o => o.Head!.KeptAnchorIds), Is.All.EqualTo(new[] { 0, 4, 8 }));
        Assert.That(manifest.Outputs.Single(o => o.Name == "cls_p3").Head!.KeptClassIds, Is.Null, "every class is kept");
    }

    [TestCase(new[] { 1, 3 })]
    [TestCase(new[] { 4 })]
    public void Keeps_classes_of_the_fcos_heads_within_the_contract(int[] classes)
    {
        // With one to three output channels ORT picks another GEMM kernel, which sums in another
        // order (up to 6e-7 apart); hence the approximate contract.
        using Model original = SurgeryTesting.Fixture("fcos_gn_op13");
        using Model m = original.Clone();
        PipelineResult r = OutputSurgery.Run(m, new OutputSurgeryOptions { KeepClasses = classes });
        Assert.That(r.Statistics.Single().Matches, Is.EqualTo(5));
        Assert.That(r.Provenance.Get("box_p3")!.Slice, Is.Null, "box and centerness heads are untouched");
        Assert.That(r.Provenance.Get("cls_p3")!.Contract.IsExact, Is.False);
        SurgeryTesting.AssertOutputsEqualOriginals(original, m, r.Provenance, new SliceHeadChannels(new HeadGeometry(1, 5), HeadLayout.AnchorMajor, classes, null).Numerics);
    }

    [Test]
    public void Does_not_slice_when_channels_are_not_anchors_times_classes()
    {
        using Model m = SurgeryTesting.TinyDetector();
        string before = GraphPrinter.Print(m.Graph);
        var e = Assert.Throws<UnsupportedOperatorException>(() => Slice(new HeadGeometry(2, 4), [0], null).Run(m))!;
        Assert.That(e.NodeName, Is.EqualTo("/head/cls/Conv"));
        Assert.That(e.Message, Does.Contain("Conv '/head/cls/Conv' has C_out = 6").And.Contain("= 8 channels"));
        Assert.That(GraphPrinter.Print(m.Graph), Is.EqualTo(before), "nothing changes when any head cannot be sliced");
    }

    [Test]
    public void Does_not_infer_a_geometry_when_class_channels_do_not_split_into_anchors()
    {
        using Model m = SurgeryTesting.TinyDetector(clsChannels: 7);
        var e = Assert.Throws<UnsupportedOperatorException>(() => _ = Pipeline.ForSurgery(new OutputSurgeryOptions { KeepClasses = [0] }, m.Graph))!;
        Assert.That(e.NodeName, Is.EqualTo("/head/cls/Conv"));
        Assert.That(e.Message, Does.Contain("7 channels").And.Contain("not a multiple of 2 anchors"));
    }

    [Test]
    public void Does_not_slice_when_the_head_output_goes_through_a_reshape()
    {
        using Model m = SurgeryTesting.TinyDetector(boxThroughReshape: true);
        var e = Assert.Throws<UnsupportedOperatorException>(() => Slice(Tiny, null, [0]).Run(m))!;
        Assert.That(e.NodeName, Is.EqualTo("/head/box/Reshape"));
        Assert.That(e.Message, Does.Contain("produced by Reshape '/head/box/Reshape', not by the head's final Conv"));
    }

    [Test]
    public void Does_not_fire_when_every_channel_is_kept_in_order()
    {
        using Model m = SurgeryTesting.TinyDetector();
        Assert.That(Slice(Tiny, [0, 1, 2], [0, 1]).Run(m).Statistics.Single().Matches, Is.Zero);
    }

    [Test]
    public void Rejects_out_of_range_and_repeated_ids()
    {
        Assert.That(() => new SliceHeadChannels(Tiny, HeadLayout.AnchorMajor, [3], null), Throws.ArgumentException.With.Message.Contains("class id 3 is out of range"));
        Assert.That(() => new SliceHeadChannels(Tiny, HeadLayout.AnchorMajor, null, [1, 1]), Throws.ArgumentException.With.Message.Contains("repeat"));
        Assert.That(() => new SliceHeadChannels(Tiny, HeadLayout.AnchorMajor, [], null), Throws.ArgumentException);
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = SurgeryTesting.TinyDetector();
        PipelineResult r = Slice(Tiny, [0, 2], [1]).Run(m);
        string once = GraphPrinter.Print(m.Graph);
        Assert.That(r.Rounds, Is.EqualTo(2), "the pipeline's second round found nothing to do");
        Assert.That(Slice(Tiny, [0, 2], [1]).Run(m, provenance: r.Provenance).Statistics.Single().Matches, Is.Zero);
        Assert.That(GraphPrinter.Print(m.Graph), Is.EqualTo(once));
    }
}
