using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class EliminateDeadNodesTests
{
    [Test]
    public void Removes_unread_nodes_and_initializers_only()
    {
        var (m, g, x) = Build.Start();
        Value w = g.AddInitializer("w", Tensor.Create<float>([1], [2f]));
        Value unused = g.AddInitializer("unused", Tensor.Create<float>([1], [3f]));
        Node keep = g.AddNode("Mul", [x, w], ["y"]);
        Node dead1 = g.AddNode("Relu", [x], ["dead1"]);
        g.AddNode("Neg", [dead1.Outputs[0]], ["dead2"]);
        g.SetOutputs([keep.Outputs[0]!]);
        Build.Run(m, new EliminateDeadNodes());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Mul" }));
        Assert.That(g.Initializers.Select(v => v.Name), Is.EqualTo(new[] { "w" }));
        Assert.That(unused.Graph.FindValue("unused"), Is.Null);
        Assert.That(Build.Run(m, new EliminateDeadNodes()).Statistics[0].Matches, Is.Zero);
        Golden.AssertMatches("eliminate-dead-nodes", GraphPrinter.Print(g));
    }
}
