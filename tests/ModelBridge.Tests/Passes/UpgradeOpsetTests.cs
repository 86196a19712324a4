using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class UpgradeOpsetTests
{
    /// <summary>An opset-9 graph whose Clip, Pad, Slice, Unsqueeze and ReduceMean carry their operands as attributes.</summary>
    private static Model Opset9()
    {
        var (m, g, x) = Build.Start(9, 1, 4, 6, 6);
        Node clip = g.AddNode("Clip", [x], ["c"], "clip");
        clip.SetFloat("min", -0.5f);
        clip.SetFloat("max", 0.75f);
        Node pad = g.AddNode("Pad", [clip.Outputs[0]], ["p"], "pad");
        pad.SetInts("pads", [0, 0, 1, 2, 0, 0, 2, 1]);
        pad.SetFloat("value", 0.25f);
        Node slice = g.AddNode("Slice", [pad.Outputs[0]], ["s"], "slice");
        slice.SetInts("starts", [1, 0]);
        slice.SetInts("ends", [8, 7]);
        slice.SetInts("axes", [2, 3]);
        Node mean = g.AddNode("ReduceMean", [slice.Outputs[0]], ["r"], "mean");
        mean.SetInts("axes", [1]);
        mean.SetInt("keepdims", 0);
        Node un = g.AddNode("Unsqueeze", [mean.Outputs[0]], ["y"], "unsqueeze");
        un.SetInts("axes", [1]);
        g.SetOutputs([un.Outputs[0]!]);
        return m;
    }

    [Test]
    public void Moves_attribute_operands_to_inputs_and_raises_the_import()
    {
        using Model m = Opset9();
        using Model original = m.Clone();
        PipelineResult r = Build.Run(m, new UpgradeOpset(21));
        Assert.That(r.Statistics[0].Matches, Is.EqualTo(1));
        Assert.That(r.Statistics[0].NodesModified, Is.EqualTo(5), "each node is changed in place, not replaced");
        Assert.That(m.Graph.OpsetVersion(""), Is.EqualTo(21));
        Graph g = m.Graph;
        Assert.That(g.Nodes.SelectMany(n => n.Attributes).Select(a => a.Name), Is.EquivalentTo(new[] { "keepdims" }), "only keepdims stays an attribute");
        Assert.That(Constants.Of(g.FindNode("clip")!.Input(1))!.ToFloatArray(), Is.EqualTo(new[] { -0.5f }));
        Assert.That(Constants.Of(g.FindNode("pad")!.Input(1))!.ToInt64Array(), Is.EqualTo(new long[] { 0, 0, 1, 2, 0, 0, 2, 1 }));
        Assert.That(Constants.Of(g.FindNode("slice")!.Input(3))!.ToInt64Array(), Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(r.Provenance.Get("y")!.Passes, Does.Contain("upgrade-opset"), "the in-place edit is recorded on the outputs");
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
        Assert.That(Build.Run(m, new UpgradeOpset(21)).Statistics[0].Matches, Is.Zero, "idempotent");
        Golden.AssertMatches("upgrade-opset", GraphPrinter.Print(g, g.Shapes));
    }

    [Test]
    public void Does_not_apply_when_a_node_changed_meaning()
    {
        var (m, g, x) = Build.Start(9, 1, 4, 6, 6);
        Value scales = g.AddInitializer("scales", Tensor.Create<float>([4], [1, 1, 2, 2]));
        Node up = g.AddNode("Upsample", [x, scales], ["y"], "up");
        g.SetOutputs([up.Outputs[0]!]);
        Assert.That(UpgradeOpset.Obstacles(g, 21).Single(), Does.Contain("Upsample was removed in opset 10"));
        PipelineResult r = Build.Run(m, new UpgradeOpset(21));
        Assert.That(r.Statistics[0].Matches, Is.Zero);
        Assert.That(g.OpsetVersion(""), Is.EqualTo(9));
    }

    [Test]
    public void A_softmax_before_13_upgrades_only_on_its_last_axis()
    {
        var (m, g, x) = Build.Start(11, 1, 4, 6);
        Node sm = g.AddNode("Softmax", [x], ["y"], "softmax");
        sm.SetInt("axis", 1);
        g.SetOutputs([sm.Outputs[0]!]);
        Assert.That(UpgradeOpset.Obstacles(g, 13).Single(), Does.Contain("flattens to 2-D"));
        sm.SetInt("axis", 2);
        Assert.That(UpgradeOpset.Obstacles(g, 13), Is.Empty, "the last axis keeps its meaning");
    }
}
