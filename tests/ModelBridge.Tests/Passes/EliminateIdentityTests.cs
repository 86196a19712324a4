using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class EliminateIdentityTests
{
    [Test]
    public void Rewires_readers_and_keeps_graph_output_names()
    {
        var (m, g, x) = Build.Start();
        Node relu = g.AddNode("Relu", [x], ["r"]);
        Node id = g.AddNode("Identity", [relu.Outputs[0]], ["y"]);
        Node id2 = g.AddNode("Identity", [relu.Outputs[0]], ["i2"]);
        Node neg = g.AddNode("Neg", [id2.Outputs[0]], ["n"]);
        g.SetOutputs([id.Outputs[0]!, neg.Outputs[0]!]);
        using Model original = m.Clone();
        PipelineResult r = Build.Run(m, new EliminateIdentity());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Relu", "Neg" }));
        Assert.That(g.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "y", "n" }), "graph output names never change");
        Assert.That(g.FindNode("n")!.Inputs[0]!.Name, Is.EqualTo("y"));
        Assert.That(r.Provenance.Get("y")!.Original, Is.EqualTo("r"));
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
        Assert.That(Build.Run(m, new EliminateIdentity()).Statistics[0].Matches, Is.Zero, "idempotent");
        Golden.AssertMatches("eliminate-identity", GraphPrinter.Print(g));
    }

    [Test]
    public void Does_not_fire_between_a_graph_input_and_a_graph_output()
    {
        var (m, g, x) = Build.Start();
        Node id = g.AddNode("Identity", [x], ["y"]);
        g.SetOutputs([id.Outputs[0]!]);
        PipelineResult r = Build.Run(m, new EliminateIdentity());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Identity" }));
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("both names must stay"));
    }
}
