using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class DeduplicateInitializersTests
{
    [Test]
    public void Merges_identical_payloads_and_keeps_distinct_ones()
    {
        var (m, g, x) = Build.Start();
        Value a = g.AddInitializer("a", Tensor.Create<float>([4, 1, 1], [1, 2, 3, 4]));
        Value b = g.AddInitializer("b", Tensor.Create<float>([4, 1, 1], [1, 2, 3, 4]));
        Value c = g.AddInitializer("c", Tensor.Create<float>([4, 1, 1], [1, 2, 3, 5]));
        Value d = g.AddInitializer("d", Tensor.Create<float>([1, 4, 1, 1], [1, 2, 3, 4]));
        Node n1 = g.AddNode("Mul", [x, a], ["n1"]);
        Node n2 = g.AddNode("Mul", [n1.Outputs[0], b], ["n2"]);
        Node n3 = g.AddNode("Mul", [n2.Outputs[0], c], ["n3"]);
        Node n4 = g.AddNode("Mul", [n3.Outputs[0], d], ["y"]);
        g.SetOutputs([n4.Outputs[0]!]);
        using Model original = m.Clone();
        Build.Run(m, new DeduplicateInitializers());
        Assert.That(g.Initializers.Select(v => v.Name), Is.EqualTo(new[] { "a", "c", "d" }), "same bytes but other dims stay apart");
        Assert.That(g.FindNode("n2")!.Inputs[1]!.Name, Is.EqualTo("a"));
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
        Golden.AssertMatches("deduplicate-initializers", GraphPrinter.Print(g));
    }
}
