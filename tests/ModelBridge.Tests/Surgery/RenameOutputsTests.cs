using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Surgery;
using ModelBridge.Tests.Surgery;

namespace ModelBridge.Tests.Surgery;

[TestFixture]
public sealed class RenameOutputsTests
{
    [Test]
    public void Orders_by_kind_and_numbers_the_outputs()
    {
        using Model m = SurgeryTesting.Fixture("retinanet_mbv2_gn_op13");
        // The fixture lists cls then box; ask for box first, each by level.
        PipelineResult r = new Pipeline([new RenameOutputs("output_{index}", order: ["box", "cls"])]).Run(m);
        Assert.That(m.Graph.Outputs.Select(o => o.Name), Is.EqualTo(Enumerable.Range(0, 10).Select(i => $"output_{i}")));
        Assert.That(m.Graph.Outputs.Select(o => r.Provenance.Get(o.Name)!.Original),
            Is.EqualTo(new[] { "box_p3", "box_p4", "box_p5", "box_p6", "box_p7", "cls_p3", "cls_p4", "cls_p5", "cls_p6", "cls_p7" }));
        Assert.That(m.Graph.FindValue("cls_p3"), Is.Null);
    }

    [Test]
    public void Kind_and_level_placeholders_come_from_the_original_names()
    {
        using Model m = SurgeryTesting.TinyDetector();
        new Pipeline([new RenameOutputs("{kind}{level}_{index}", inputPattern: "input_{index}")]).Run(m);
        Assert.That(m.Graph.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "cls3_0", "cls4_1", "box3_2", "box4_3" }));
        Assert.That(m.Graph.Inputs.Single().Name, Is.EqualTo("input_0"));
    }

    [Test]
    public void Renaming_and_reordering_leave_every_value_bit_identical()
    {
        using Model original = SurgeryTesting.Fixture("retinanet_resnet_bn_op13");
        using Model m = original.Clone();
        PipelineResult r = OutputSurgery.Run(m, new OutputSurgeryOptions
        {
            RenamePattern = "{kind}_{level}",
            RenameMap = new Dictionary<string, string> { ["input"] = "image", ["box_p7"] = "boxes_coarsest" },
            Order = ["box_p7", "cls"],
            CanonicalizeNames = true,
        });
        Assert.That(m.Graph.Inputs.Single().Name, Is.EqualTo("image"));
        Assert.That(m.Graph.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "boxes_coarsest", "cls_3", "cls_4", "cls_5", "cls_6", "cls_7", "box_3", "box_4", "box_5", "box_6" }));
        SurgeryTesting.AssertOutputsEqualOriginals(original, m, r.Provenance);
        // Internal values too: every mapped value of the renamed graph equals its original, layer by layer.
        string[] internals = [.. m.Graph.Nodes.SelectMany(n => n.Outputs).OfType<Value>().Where(v => !v.IsGraphOutput).Select(v => v.Name).Take(40)];
        Assert.That(internals, Is.All.Match("^t[0-9]+$"));
        var inputs = SurgeryTesting.Inputs(original);
        var before = Numerics.Run(original, inputs, internals.Select(n => r.Provenance.Get(n)!.Original!));
        var after = Numerics.Run(m, new Dictionary<string, ModelBridge.Verify.TensorData> { ["image"] = inputs["input"] }, internals);
        foreach (string n in internals)
        {
            Numerics.AssertClose(n, before[r.Provenance.Get(n)!.Original!], after[n], NumericContract.Exact);
        }
    }

    [Test]
    public void Renumbers_contiguously_after_outputs_were_dropped()
    {
        using Model m = SurgeryTesting.Fixture("fcos_gn_op13");
        PipelineResult r = OutputSurgery.Run(m, new OutputSurgeryOptions { DropLevels = [3], DropOutputs = ["ctr_p5"], RenamePattern = "output_{index}" });
        Assert.That(m.Graph.Outputs.Select(o => o.Name), Is.EqualTo(Enumerable.Range(0, 11).Select(i => $"output_{i}")));
        Assert.That(r.Provenance.Get("output_0")!.Original, Is.EqualTo("cls_p4"));
        Assert.That(r.Provenance.Get("output_10")!.Original, Is.EqualTo("ctr_p7"));
    }

    [Test]
    public void Reads_a_json_map_and_can_swap_names()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("map.json"), """{ "cls_p3": "cls_p4", "cls_p4": "cls_p3" }""");
        using Model original = SurgeryTesting.TinyDetector();
        using Model m = original.Clone();
        PipelineResult r = OutputSurgery.Run(m, new OutputSurgeryOptions { RenameMap = OutputSurgeryOptions.ReadRenameMap(dir.File("map.json")) });
        Assert.That(r.Provenance.Get("cls_p4")!.Original, Is.EqualTo("cls_p3"));
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("cls_p4"), "the first output is P3's, now called cls_p4");
        SurgeryTesting.AssertOutputsEqualOriginals(original, m, r.Provenance);
        File.WriteAllText(dir.File("bad.json"), "[1, 2]");
        Assert.That(() => OutputSurgeryOptions.ReadRenameMap(dir.File("bad.json")), Throws.TypeOf<FormatException>());
    }

    [Test]
    public void Moves_an_internal_value_that_holds_a_wanted_name()
    {
        using Model m = SurgeryTesting.TinyDetector();
        PipelineResult r = new Pipeline([new RenameOutputs(map: new Dictionary<string, string> { ["cls_p3"] = "/fpn/p3/Relu_output_0" })]).Run(m);
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("/fpn/p3/Relu_output_0"));
        Assert.That(r.Provenance.Get("/fpn/p3/Relu_output_0_internal")!.Original, Is.EqualTo("/fpn/p3/Relu_output_0"));
        Assert.That(r.Provenance.Get("/fpn/p3/Relu_output_0")!.Original, Is.EqualTo("cls_p3"));
    }

    [Test]
    public void The_tensor_map_keeps_pointing_at_the_original_names_through_json()
    {
        using Model m = SurgeryTesting.TinyDetector();
        PipelineResult r = new Pipeline([new RenameOutputs("output_{index}"), new CanonicalizeValueNames()]).Run(m);
        ProvenanceMap back = ProvenanceMap.FromJson(r.Provenance.ToJson());
        Assert.That(back.Get("output_3")!.Original, Is.EqualTo("box_p4"));
        Assert.That(back.Entries.Keys, Is.EquivalentTo(m.Graph.Values.Select(v => v.Name)));
        Assert.That(back.Entries.Values.Select(o => o.Original), Is.EquivalentTo(m.Graph.Values.Select(v => r.Provenance.Get(v.Name)!.Original)));
    }

    [Test]
    public void Does_not_name_a_non_head_output_by_kind()
    {
        using Model m = SurgeryTesting.TinyDetector(extra: true);
        Assert.That(() => new Pipeline([new RenameOutputs("{kind}_{level}")]).Run(m),
            Throws.ArgumentException.With.Message.Contains("'features' is not a detector head output"));
        Assert.That(m.Graph.Outputs.Select(o => o.Name), Does.Contain("cls_p3"), "nothing was renamed");
    }

    [Test]
    public void Does_not_give_two_outputs_the_same_name()
    {
        using Model m = SurgeryTesting.TinyDetector();
        Assert.That(() => new Pipeline([new RenameOutputs("{kind}")]).Run(m), Throws.ArgumentException.With.Message.Contains("the same name 'cls'"));
    }

    [Test]
    public void Rejects_unknown_placeholders_and_names()
    {
        using Model m = SurgeryTesting.TinyDetector();
        Assert.That(() => new RenameOutputs("out_{stride}"), Throws.ArgumentException.With.Message.Contains("{stride}"));
        Assert.That(() => Pipeline.ForSurgery(new OutputSurgeryOptions { RenameMap = new Dictionary<string, string> { ["nope"] = "x" } }, m.Graph).Passes,
            Throws.ArgumentException.With.Message.Contains("'nope'"));
        Assert.That(() => Pipeline.ForSurgery(new OutputSurgeryOptions { Order = ["ctr"] }, m.Graph).Passes, Throws.ArgumentException.With.Message.Contains("'ctr'"));
        Assert.That(() => Pipeline.ForSurgery(new OutputSurgeryOptions { DropOutputs = ["cls_p9"] }, m.Graph).Passes,
            Throws.ArgumentException.With.Message.Contains("no such output (outputs: cls_p3, cls_p4, box_p3, box_p4)"));
        Assert.That(() => Pipeline.ForSurgery(new OutputSurgeryOptions { DropLevels = [OutputSurgeryOptions.ParseLevel("p6")] }, m.Graph).Passes,
            Throws.ArgumentException.With.Message.Contains("levels: P3, P4"));
        Assert.That(() => OutputSurgeryOptions.ParseLevel("Q3"), Throws.TypeOf<FormatException>());
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = SurgeryTesting.TinyDetector();
        var pass = new RenameOutputs("{kind}_{level}", order: ["box"]);
        PipelineResult r = new Pipeline([pass]).Run(m);
        string once = GraphPrinter.Print(m.Graph);
        Assert.That(new Pipeline([pass]).Run(m, provenance: r.Provenance).Statistics.Single().Matches, Is.Zero);
        Assert.That(GraphPrinter.Print(m.Graph), Is.EqualTo(once));
    }

    [Test]
    public void Only_rename_outputs_may_rename_interface_values()
    {
        using Model m = SurgeryTesting.TinyDetector();
        var rewriter = new GraphRewriter(m.Graph, ProvenanceMap.Identity(m.Graph)) { PassId = "some-pass" };
        Assert.That(() => rewriter.RenameValue(m.Graph.Outputs[0], "x"), Throws.InvalidOperationException.With.Message.Contains("only rename-outputs"));
    }
}
