using ModelBridge.Cli;

namespace ModelBridge.Tests.Cli;

/// <summary><c>modelbridge profile</c> through the real entry point.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ProfileCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static string Fixture(string name) => CliHarness.Fixture(name);

    [TestCase("scope")]
    [TestCase("op")]
    [TestCase("node")]
    public void Profile_prints_groups(string by)
    {
        var (code, output, _) = Run("profile", Fixture("retinanet_mbv2_gn_op13"), "--by", by, "--depth", "2");
        Assert.That(code, Is.EqualTo(Program.Ok));
        Assert.That(output, Does.Contain("MACs"));
        if (by == "scope")
        {
            Assert.That(output, Does.Contain("/head/cls_subnet"));
        }
    }

    [Test]
    public void Profile_json_and_set_dim()
    {
        var (code, output, _) = Run("profile", Fixture("dynamic_batch"), "--json", "--set-dim", "N=1");
        Assert.That(code, Is.EqualTo(Program.Ok));
        Assert.That(output, Does.Contain("\"groups\"").And.Contain("\"macs\""));
        using var doc = CliHarness.SingleJson(output);
        Assert.That(doc.RootElement.GetProperty("total").GetProperty("nodesWithUnknownCost").GetInt32(), Is.Zero, "N pinned: every cost known");
    }

    [Test]
    public void Prepare_pins_symbolic_dims_and_infers_shapes()
    {
        using Model m = Model.Load(Fixture("dynamic_batch"));
        ModelBridge.Shapes.ShapeInferenceResult shapes = ProfileCommand.Prepare(m, new Dictionary<string, long> { ["N"] = 2 });
        Assert.That(shapes.ShapeOf(m.Graph.Inputs[0])!.ToString(), Is.EqualTo("[2,3,32,32]"));
        Assert.That(shapes.ShapeOf(m.Graph.TopologicalOrder()[0].Outputs[0])!.IsStatic, Is.True, "Prepare infers shapes");
        Assert.That(shapes.ShapeOf(m.Graph.Outputs[0])!.ToString(), Is.EqualTo("[2,10]"));
        Assert.That(m.Graph.Inputs[0].DeclaredType!.Shape!.ToString(), Does.Contain("N"), "the model itself is not changed");
    }
}
