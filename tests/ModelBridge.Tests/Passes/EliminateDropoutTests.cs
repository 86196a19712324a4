using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class EliminateDropoutTests
{
    [Test]
    public void Removes_inference_dropout()
    {
        var (m, g, x) = Build.Start();
        Node d = g.AddNode("Dropout", [x], ["d"]);
        Node relu = g.AddNode("Relu", [d.Outputs[0]], ["y"]);
        g.SetOutputs([relu.Outputs[0]!]);
        using Model original = m.Clone();
        Build.Run(m, new EliminateDropout());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Relu" }));
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
        Golden.AssertMatches("eliminate-dropout", GraphPrinter.Print(g));
    }

    [Test]
    public void Does_not_fire_when_the_mask_is_used()
    {
        var (m, g, x) = Build.Start();
        Node d = g.AddNode("Dropout", [x], ["d", "mask"]);
        g.SetOutputs([d.Outputs[0]!, d.Outputs[1]!]);
        PipelineResult r = Build.Run(m, new EliminateDropout());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Dropout" }));
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("mask"));
    }

    [Test]
    public void Does_not_fire_in_training_mode()
    {
        var (m, g, x) = Build.Start();
        Value ratio = g.AddInitializer("ratio", Tensor.Create<float>([], [0.5f]));
        Value training = g.AddInitializer("training", Tensor.Create<bool>([], [true]));
        Node d = g.AddNode("Dropout", [x, ratio, training], ["d"]);
        Node relu = g.AddNode("Relu", [d.Outputs[0]], ["y"]);
        g.SetOutputs([relu.Outputs[0]!]);
        Build.Run(m, new EliminateDropout());
        Assert.That(Build.Ops(m), Has.Member("Dropout"));
    }
}
