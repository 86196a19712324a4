using ModelBridge.Surgery;
using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Tests.Surgery;

namespace ModelBridge.Tests.Surgery;

[TestFixture]
public sealed class CanonicalizeValueNamesTests
{
    private static Pipeline Canonicalize() => new([new CanonicalizeValueNames()]);

    [Test]
    public void Names_values_and_nodes_in_topological_order_and_keeps_the_interface()
    {
        using Model m = SurgeryTesting.TinyDetector();
        PipelineResult r = Canonicalize().Run(m);
        Graph g = m.Graph;
        Assert.That(g.Inputs.Single().Name, Is.EqualTo("image"));
        Assert.That(g.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "cls_p3", "cls_p4", "box_p3", "box_p4" }));
        Assert.That(g.Values.Where(v => !v.IsGraphInput && !v.IsGraphOutput).Select(v => v.Name), Is.All.Match("^t[0-9]+$"));
        Assert.That(g.TopologicalOrder().Select(n => n.Name), Is.EqualTo(Enumerable.Range(0, g.NodeCount).Select(i => $"n{i}")));
        Assert.That(r.Provenance.Get("t0")!.Original, Is.EqualTo("fpn.p3.weight"));
        Assert.That(r.Provenance.Get("t1")!.Original, Is.EqualTo("/fpn/p3/Conv_output_0"));
        Golden.AssertMatches("canonicalize-value-names-tiny-detector", GraphPrinter.Print(g));
    }

    [Test]
    public void The_same_model_gets_the_same_names()
    {
        using Model a = SurgeryTesting.Fixture("retinanet_mbv2_gn_op13");
        using Model b = SurgeryTesting.Fixture("retinanet_mbv2_gn_op13");
        Canonicalize().Run(a);
        Canonicalize().Run(b);
        Assert.That(a.ToBytes(), Is.EqualTo(b.ToBytes()));
        Assert.That(a.Graph.Values.Select(v => v.Name).Max(n => n.Length), Is.LessThanOrEqualTo(6));
    }

    [Test]
    public void Canonical_names_leave_every_value_bit_identical()
    {
        using Model original = SurgeryTesting.Fixture("retinanet_mbv2_gn_op11");
        using Model m = original.Clone();
        PipelineResult r = Canonicalize().Run(m);
        SurgeryTesting.AssertOutputsEqualOriginals(original, m, r.Provenance);
    }

    [Test]
    public void Skips_numbers_taken_by_interface_names()
    {
        using Model m = SurgeryTesting.TinyDetector();
        new Pipeline([new RenameOutputs(map: new Dictionary<string, string> { ["cls_p3"] = "t1" })]).Run(m);
        Canonicalize().Run(m);
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("t1"));
        Assert.That(m.Graph.FindValue("t2")!.Producer!.OpType, Is.EqualTo("Conv"), "t1 is skipped: the P3 conv output is t2");
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = SurgeryTesting.TinyDetector();
        Canonicalize().Run(m);
        string once = GraphPrinter.Print(m.Graph);
        Assert.That(Canonicalize().Run(m).Statistics.Single().Matches, Is.Zero);
        Assert.That(GraphPrinter.Print(m.Graph), Is.EqualTo(once));
    }
}
