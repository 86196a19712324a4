using ModelBridge.OnnxProto;

namespace ModelBridge.Tests.Ir;

[TestFixture]
public sealed class ValidationTests
{
    private static Model Load(ModelProto p) => Model.Load(p.ToByteArray());

    [Test]
    public void Dangling_input_is_reported_with_the_node()
    {
        ModelProto p = TestModels.ReluIdentitySigmoid();
        p.Graph.Node[1].Input[0] = "nowhere";
        using Model m = Load(p);
        var ex = Assert.Throws<InvalidModelException>(() => m.Graph.Validate());
        Assert.That(ex!.NodeName, Is.EqualTo("relu"));
        Assert.That(ex.Message, Does.Contain("'nowhere'").And.Contain("relu"));
    }

    [Test]
    public void Duplicate_producers_are_refused_at_load()
    {
        ModelProto p = TestModels.ReluIdentitySigmoid();
        p.Graph.Node[4].Output[0] = "s"; // neg now also writes "s"
        var ex = Assert.Throws<InvalidModelException>(() => Load(p));
        Assert.That(ex!.Message, Does.Contain("'s'").And.Contain("sigmoid").And.Contain("neg"));
    }

    [Test]
    public void Cycle_is_reported_naming_its_nodes()
    {
        ModelProto p = TestModels.ReluIdentitySigmoid();
        p.Graph.Node[1].Input[0] = "i"; // relu reads identity's output, identity reads relu's
        using Model m = Load(p);
        var ex = Assert.Throws<InvalidModelException>(() => m.Graph.Validate());
        Assert.That(ex!.Message, Does.Contain("cycle").And.Contain("relu").And.Contain("identity"));
        Assert.That(() => m.Graph.TopologicalOrder(), Throws.TypeOf<InvalidModelException>());
    }

    [Test]
    public void Graph_output_nobody_produces_is_reported()
    {
        ModelProto p = TestModels.ReluIdentitySigmoid();
        p.Graph.Output.Add(TestModels.Info("ghost", 1));
        using Model m = Load(p);
        Assert.That(m.Graph.FindProblems().Select(x => x.Message), Has.Some.Contains("'ghost'"));
    }

    [Test]
    public void Initializer_length_mismatch_is_reported()
    {
        ModelProto p = TestModels.ReluIdentitySigmoid();
        p.Graph.Initializer[0].Dims[0] = 4; // 3 floats stored, 4 claimed
        using Model m = Load(p);
        var ex = Assert.Throws<InvalidModelException>(() => m.Graph.Validate());
        Assert.That(ex!.Message, Does.Contain("'bias'").And.Contain("12 bytes").And.Contain("16"));
    }

    [Test]
    public void Missing_opset_import_is_reported()
    {
        ModelProto p = TestModels.ReluIdentitySigmoid();
        p.Graph.Node[1].Domain = "com.example";
        using Model m = Load(p);
        var ex = Assert.Throws<InvalidModelException>(() => m.Graph.Validate());
        Assert.That(ex!.Message, Does.Contain("com.example").And.Contain("relu"));
    }

    [Test]
    public void Negative_dims_are_refused_at_load()
    {
        ModelProto p = TestModels.ReluIdentitySigmoid();
        p.Graph.Initializer[0].Dims[0] = -3;
        Assert.That(() => Load(p), Throws.TypeOf<InvalidModelException>().With.Message.Contains("negative").And.Message.Contains("bias"));
    }

    [Test]
    public void A_valid_model_has_no_problems()
    {
        using Model m = Load(TestModels.ReluIdentitySigmoid());
        Assert.That(m.Graph.FindProblems(), Is.Empty);
    }
}
