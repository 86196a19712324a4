using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class DecomposeGroupNormTests
{
    private static Model Fused()
    {
        Model m = GroupNormModels.Build(new GroupNormModels.Options { Channels = 8, Groups = 2 });
        new Pipeline([new FuseGroupNorm(), new EliminateDeadNodes()]).Run(m);
        ModelBridge.Shapes.ShapeInference.Run(m.Graph);
        return m;
    }

    [Test]
    public void Moments_form_has_no_shape_op_and_keeps_the_output_name()
    {
        using Model m = Fused();
        new Pipeline([new DecomposeGroupNorm(GroupNormDecomposition.Moments)]).Run(m);
        string[] ops = Build.Ops(m);
        Assert.That(ops, Is.EqualTo(new[] { "Reshape", "ReduceMean", "Sub", "Mul", "ReduceMean", "Add", "Sqrt", "Div", "Reshape", "Mul", "Add", "Relu" }));
        Assert.That(m.Graph.FindNode("/gn/Add")!.Outputs[0]!.Name, Is.EqualTo("gn_out"));
        Golden.AssertMatches("decompose-groupnorm-moments", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [Test]
    public void InstanceNorm_form()
    {
        using Model m = Fused();
        new Pipeline([new DecomposeGroupNorm(GroupNormDecomposition.InstanceNorm)]).Run(m);
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Reshape", "InstanceNormalization", "Reshape", "Mul", "Add", "Relu" }));
        Assert.That(m.Graph.Nodes.Where(n => n.OpType == "Reshape").All(n => n.Inputs[1]!.IsConstant), Is.True, "constant shapes only");
    }

    [Test]
    public void Does_not_fire_without_a_static_shape()
    {
        using Model m = Fused();
        Value x = m.Graph.Inputs[0];
        x.DeclaredType = x.DeclaredType! with { Shape = new TensorShape([Dim.Sym("N"), 8, 4, 5]) };
        PipelineResult r = new Pipeline([new DecomposeGroupNorm(GroupNormDecomposition.Moments)]).Run(m);
        Assert.That(r.Statistics[0].Matches, Is.Zero);
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("not static"));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Fused();
        var p = new Pipeline([new DecomposeGroupNorm(GroupNormDecomposition.Moments)]);
        p.Run(m);
        Assert.That(p.Run(m).Statistics[0].Matches, Is.Zero);
    }
}
