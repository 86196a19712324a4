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

[TestFixture]
public sealed class ActivationLoweringTests
{
    private static Model One(string op, long opset = 20)
    {
        var (m, g, x) = Build.Start(opset);
        Node n = g.AddNode(op, [x], ["y"], name: "/act/" + op);
        g.SetOutputs([n.Outputs[0]!]);
        return m;
    }

    [TestCase("HardSwish", typeof(LowerHardSwish), new[] { "HardSigmoid", "Mul" })]
    [TestCase("HardSigmoid", typeof(LowerHardSigmoid), new[] { "Mul", "Add", "Clip" })]
    [TestCase("LeakyRelu", typeof(LowerLeakyRelu), new[] { "Mul", "Max" })]
    [TestCase("Gelu", typeof(LowerGelu), new[] { "Div", "Erf", "Add", "Mul", "Mul" })]
    public void Lowers_into_the_declared_ops_and_keeps_the_name(string op, Type pass, string[] expected)
    {
        using Model m = One(op);
        Pass p = pass == typeof(LowerHardSwish) ? new LowerHardSwish(useHardSigmoid: true) : (Pass)Activator.CreateInstance(pass)!;
        new Pipeline([p]).Run(m);
        Assert.That(Build.Ops(m), Is.EquivalentTo(expected));
        Assert.That(Build.Ops(m).Distinct(), Is.SubsetOf(p.GeneratedOps), "only declared ops are created");
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("y"));
        Assert.That(new Pipeline([p]).Run(m).Statistics[0].Matches, Is.Zero, "idempotent");
    }

    [Test]
    public void LeakyRelu_with_alpha_above_one_is_left_alone()
    {
        using Model m = One("LeakyRelu");
        m.Graph.Nodes.Single().SetFloat("alpha", 1.5f);
        PipelineResult r = new Pipeline([new LowerLeakyRelu()]).Run(m);
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "LeakyRelu" }));
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("alpha"));
    }

    [Test]
    public void Does_not_fire_before_opset_7()
    {
        using Model m = One("HardSigmoid", opset: 6);
        PipelineResult r = new Pipeline([new LowerHardSigmoid()]).Run(m);
        Assert.That(r.Statistics[0].Matches, Is.Zero);
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("opset 7"));
    }
}
