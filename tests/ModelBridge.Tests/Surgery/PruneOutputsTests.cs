using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Surgery;
using ModelBridge.Tests.Surgery;

namespace ModelBridge.Tests.Surgery;

[TestFixture]
public sealed class PruneOutputsTests
{
    private static Pipeline DropLevel(int level) => new([new PruneOutputs([], [level])]);

    [Test]
    public void Dropping_a_level_removes_its_heads_and_keeps_the_shared_weights()
    {
        using Model m = SurgeryTesting.TinyDetector();
        PipelineResult r = DropLevel(3).Run(m);
        Assert.That(m.Graph.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "cls_p4", "box_p4" }));
        Assert.That(m.Graph.Nodes.Select(n => n.Name), Is.EquivalentTo(new[] { "/fpn/p3/Conv", "/fpn/p3/Relu", "/fpn/p4/Conv", "/fpn/p4/Relu", "/head/cls_1/Conv", "/head/box_1/Conv" }),
            "P3's head convs go; the P3 features stay because P4 is computed from them");
        Assert.That(m.Graph.Initializers.Select(v => v.Name), Does.Contain("head.cls.weight").And.Contain("head.box.weight"));
        Assert.That(r.Statistics.Single().NodesRemoved, Is.EqualTo(2));
    }

    [Test]
    public void Dropping_by_name_removes_what_only_fed_that_output()
    {
        using Model m = SurgeryTesting.TinyDetector(extra: true);
        new Pipeline([new PruneOutputs(["features"])]).Run(m);
        Assert.That(m.Graph.Nodes.Any(n => n.OpType == "GlobalAveragePool"), Is.False);
        Assert.That(m.Graph.NodeCount, Is.EqualTo(8));
    }

    [Test]
    public void Golden_tiny_detector_without_p3()
    {
        using Model m = SurgeryTesting.TinyDetector();
        DropLevel(3).Run(m);
        Golden.AssertMatches("prune-outputs-tiny-detector-p3", GraphPrinter.Print(m.Graph));
    }

    [Test]
    public void Does_not_drop_every_output()
    {
        using Model m = SurgeryTesting.TinyDetector();
        Assert.That(() => new Pipeline([new PruneOutputs(["cls_p3", "cls_p4"], [3, 4])]).Run(m),
            Throws.ArgumentException.With.Message.Contains("without outputs"));
        Assert.That(() => Pipeline.ForSurgery(new OutputSurgeryOptions { DropLevels = [3, 4] }, m.Graph).Passes,
            Throws.ArgumentException.With.Message.Contains("every output"));
    }

    [Test]
    public void Does_not_fire_when_no_output_matches()
    {
        using Model m = SurgeryTesting.TinyDetector();
        string before = GraphPrinter.Print(m.Graph);
        PipelineResult r = new Pipeline([new PruneOutputs(["nope"], [9])]).Run(m);
        Assert.That(r.Statistics.Single().Matches, Is.Zero);
        Assert.That(GraphPrinter.Print(m.Graph), Is.EqualTo(before));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = SurgeryTesting.TinyDetector();
        DropLevel(3).Run(m);
        string once = GraphPrinter.Print(m.Graph);
        Assert.That(DropLevel(3).Run(m).Statistics.Single().Matches, Is.Zero);
        Assert.That(GraphPrinter.Print(m.Graph), Is.EqualTo(once));
    }

    [TestCaseSource(typeof(SurgeryTesting), nameof(SurgeryTesting.Detectors))]
    public void Dropping_p3_removes_exactly_the_nodes_that_only_fed_it(string fixture)
    {
        using Model original = SurgeryTesting.Fixture(fixture);
        using Model m = original.Clone();
        Value[] dropped = [.. m.Graph.Outputs.Where(o => o.Name.EndsWith("_p3", StringComparison.Ordinal))];
        Value[] kept = [.. m.Graph.Outputs.Except(dropped)];
        // Independently: what feeds a dropped output and no kept one.
        var expected = SurgeryTesting.Ancestors(dropped);
        expected.ExceptWith(SurgeryTesting.Ancestors(kept));
        string[] expectedNames = [.. expected.Select(n => n.Name)];
        string[] before = [.. m.Graph.Nodes.Select(n => n.Name)];
        long macsBefore = SurgeryTesting.ConvMacs(m);

        PipelineResult r = OutputSurgery.Run(m, new OutputSurgeryOptions { DropLevels = [OutputSurgeryOptions.ParseLevel("P3")] });

        Assert.That(m.Graph.Outputs.Select(o => o.Name), Is.EqualTo(kept.Select(o => o.Name)));
        Assert.That(m.Graph.NodeCount, Is.EqualTo(before.Length - expected.Count));
        Assert.That(m.Graph.Nodes.Select(n => n.Name), Is.EquivalentTo(before.Except(expectedNames)));
        Assert.That(m.Graph.FindProblems(), Is.Empty);
        foreach (string shared in new[] { "head.cls_score.weight", "head.bbox_pred.weight", "head.cls_logits.weight" }.Where(n => original.Graph.FindValue(n) is not null))
        {
            Assert.That(m.Graph.GetValue(shared).Uses, Has.Count.EqualTo(4), $"{shared} stays shared by P4–P7");
        }
        SurgeryTesting.AssertOutputsEqualOriginals(original, m, r.Provenance);

        long macsAfter = SurgeryTesting.ConvMacs(m);
        TestContext.Out.WriteLine($"{fixture}: dropped {dropped.Length} outputs, removed {expected.Count} of {before.Length} nodes; "
            + $"conv MACs {macsBefore:N0} -> {macsAfter:N0} (-{macsBefore - macsAfter:N0}, -{100.0 * (macsBefore - macsAfter) / macsBefore:F1}%)");
        Assert.That(macsAfter, Is.LessThan(macsBefore));
    }
}
