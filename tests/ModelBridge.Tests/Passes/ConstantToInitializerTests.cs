using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class ConstantToInitializerTests
{
    [Test]
    public void Turns_every_value_form_into_an_initializer()
    {
        var (m, g, x) = Build.Start();
        Node c1 = g.AddNode("Constant", [], ["c1"]);
        c1.SetTensor("value", Tensor.Create<float>([4, 1, 1], [1, 2, 3, 4]));
        Node c2 = g.AddNode("Constant", [], ["c2"]);
        c2.SetFloat("value_float", 0.5f);
        Node c3 = g.AddNode("Constant", [], ["c3"]);
        c3.SetInts("value_ints", [1, 4, 9]);
        Node mul = g.AddNode("Mul", [x, c1.Outputs[0]], ["a"]);
        Node add = g.AddNode("Add", [mul.Outputs[0], c2.Outputs[0]], ["b"]);
        Node reshape = g.AddNode("Reshape", [add.Outputs[0], c3.Outputs[0]], ["y"]);
        g.SetOutputs([reshape.Outputs[0]!]);
        using Model original = m.Clone();
        Build.Run(m, new ConstantToInitializer());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Mul", "Add", "Reshape" }));
        Assert.That(g.Initializers.Select(v => v.Name), Is.EquivalentTo(new[] { "c1", "c2", "c3" }), "initializers keep the constants' names");
        Assert.That(g.GetValue("c3").Initializer!.ToInt64Array(), Is.EqualTo(new long[] { 1, 4, 9 }));
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
        Golden.AssertMatches("constant-to-initializer", GraphPrinter.Print(g));
    }
}
