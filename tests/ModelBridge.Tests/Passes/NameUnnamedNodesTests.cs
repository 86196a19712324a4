using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class NameUnnamedNodesTests
{
    [Test]
    public void Names_unnamed_nodes_after_their_first_output()
    {
        var (m, g, x) = Build.Start();
        Node relu = g.AddNode("Relu", [x], ["245"], "");
        Node neg = g.AddNode("Neg", [relu.Outputs[0]], ["y"], "kept");
        g.SetOutputs([neg.Outputs[0]!]);
        Assert.That(relu.Name, Is.Empty, "precondition");
        Assert.That(NodeNaming.NameOf(relu), Is.EqualTo("Relu_245"), "reports use the name before any conversion");

        PipelineResult r = Build.Run(m, new NameUnnamedNodes());
        Assert.That(r.Statistics[0].Matches, Is.EqualTo(1));
        Assert.That(relu.Name, Is.EqualTo("Relu_245"));
        Assert.That(neg.Name, Is.EqualTo("kept"), "named nodes keep their names");
        Assert.That(Build.Run(m, new NameUnnamedNodes()).Statistics[0].Matches, Is.Zero, "idempotent");
        Golden.AssertMatches("name-unnamed-nodes", GraphPrinter.Print(g, nodeNames: true));
    }

    [Test]
    public void A_derived_name_already_taken_is_made_unique()
    {
        var (m, g, x) = Build.Start();
        Node taken = g.AddNode("Relu", [x], ["a"], "Relu_b");
        Node unnamed = g.AddNode("Relu", [taken.Outputs[0]], ["b"], "");
        g.SetOutputs([unnamed.Outputs[0]!]);
        Build.Run(m, new NameUnnamedNodes());
        Assert.That(unnamed.Name, Is.EqualTo("Relu_b_1"));
        Assert.That(g.Nodes.Select(n => n.Name).Distinct().Count(), Is.EqualTo(2));
    }

    [Test]
    public void Reports_of_the_original_and_the_converted_graph_agree_on_names()
    {
        using Model original = Model.Load(Path.Combine(TestPaths.Fixtures, "real", "version-RFB-320", "model.onnx"));
        Assert.That(original.Graph.Nodes.All(n => n.Name.Length == 0), Is.True, "precondition: PyTorch 1.2 names no node");
        TargetProfile nnapi = TargetProfile.BuiltIn("ort-nnapi");
        ProfileReport before = ProfileChecker.Check(original.Graph, nnapi);
        Assert.That(before.Nodes.Select(n => n.Name), Has.None.Empty);
        Assert.That(before.Nodes.Select(n => n.Name).Distinct().Count(), Is.EqualTo(before.Nodes.Count));
        using Model named = original.Clone();
        Build.Run(named, new NameUnnamedNodes());
        Assert.That(named.Graph.Nodes.Where(n => n.OpType != "Constant").Select(n => n.Name), Is.EquivalentTo(before.Nodes.Select(n => n.Name)),
            "every node of the converted graph carries the name the report gave it");
        using Model converted = ModelConverter.Convert(original, nnapi).Model;
        Assert.That(converted.Graph.Nodes.Select(n => n.Name), Has.None.Empty);
        Assert.That(converted.Graph.FindNode("Softmax_scores"), Is.Not.Null, "the name check reported for the refused Softmax");
    }
}
