using ModelBridge.Costs;
using ModelBridge.Shapes;

namespace ModelBridge.Tests.Costs;

[TestFixture]
public sealed class NodeScopesTests
{
    private static string Real(string name) => Path.Combine(TestPaths.Fixtures, "real", name, "model.onnx");

    [Test]
    public void Node_name_paths_are_used_when_exporters_write_them()
    {
        using Model m = Model.Load(Path.Combine(TestPaths.Fixtures, "retinanet_mbv2_gn_op13", "model.onnx"));
        CostReport r = CostModel.Compute(m.Graph);
        Assert.That(r.Scopes.Source, Is.EqualTo(ScopeSource.NodeNames));
        Assert.That(r.Group(CostGrouping.Scope).Select(g => g.Key), Is.SupersetOf(new[] { "/backbone", "/fpn", "/head" }));
    }

    [Test]
    public void Unnamed_nodes_take_the_module_path_of_their_weights()
    {
        using Model m = Model.Load(Real("version-RFB-320"));
        CostReport r = CostModel.Compute(m.Graph);
        Assert.That(r.Scopes.Source, Is.EqualTo(ScopeSource.WeightNames));
        var top = r.Group(CostGrouping.Scope);
        Assert.That(top.Select(g => g.Key), Is.SupersetOf(new[] { "/base_net", "/classification_headers", "/regression_headers", "/extras" }));
        Assert.That(top.Sum(g => g.Macs), Is.EqualTo(r.TotalMacs), "every MAC is in some scope");
        Assert.That(top.Single(g => g.Key == CostReport.RootScope).Macs, Is.Zero, "no multiply-accumulate is left in the root");
        Node relu = m.Graph.TopologicalOrder().First(n => n.OpType == "Relu");
        Assert.That(r.Scopes.ScopeOf(relu, 2), Is.EqualTo("/base_net/0"), "a weightless node joins its producer's module");
    }

    [Test]
    public void Flat_graphs_are_grouped_by_output_stride()
    {
        using Model m = Model.Load(Real("ch_PP-OCRv4_det_infer"));
        Graph g = m.Graph;
        string[] symbols = [.. g.Inputs[0].DeclaredType!.Shape!.Dims.Select(d => d.Symbol!)];
        ShapeInferenceResult shapes = ShapeInference.Run(g, new ShapeInferenceOptions
        {
            DimOverrides = new Dictionary<string, long> { [symbols[0]] = 1, [symbols[2]] = 320, [symbols[3]] = 320 },
        });
        CostReport r = CostModel.Compute(g, shapes);
        Assert.That(r.Scopes.Source, Is.EqualTo(ScopeSource.OutputStride));
        var top = r.Group(CostGrouping.Scope);
        Assert.That(top.Sum(x => x.Macs), Is.EqualTo(r.TotalMacs));
        Assert.That(top.Single(x => x.Key == CostReport.RootScope).Macs, Is.Zero, "all 2.3 GMACs used to be in (root)");
        foreach (Node conv in g.Nodes.Where(n => n.OpType == "Conv"))
        {
            long[] y = shapes.StaticDimsOf(conv.Outputs[0])!;
            if (y[2] >= 2)
            {
                Assert.That(r.Scopes.ScopeOf(conv, 1), Is.EqualTo($"/stride{320 / y[2]}"), conv.Name);
            }
        }
    }

    [Test]
    public void Weights_held_in_constant_nodes_count_as_parameters()
    {
        using Model m = Model.Load(Real("ch_PP-OCRv4_det_infer"));
        Assert.That(m.Graph.Initializers, Is.Empty, "precondition: Paddle2ONNX keeps every weight in a Constant node");
        long expected = m.Graph.Nodes.Where(n => n.OpType == "Constant" && n.Outputs[0]!.Uses.Count > 0)
            .Sum(n => n.GetTensor("value")!.ElementCount);
        Assert.That(CostModel.Compute(m.Graph).Total.Parameters, Is.EqualTo(expected));
        Assert.That(ModelBridge.Inspection.ModelSummary.Create(m).ParameterCount, Is.EqualTo(m.Graph.Nodes.Where(n => n.OpType == "Constant").Sum(n => n.GetTensor("value")!.ElementCount)));
        Assert.That(expected, Is.GreaterThan(1_000_000));
    }

    [Test]
    public void A_scope_addresses_nodes_by_node_output_or_weight_name()
    {
        using Model m = Model.Load(Real("ch_PP-OCRv4_det_infer"));
        Node conv = m.Graph.FindNode("p2o.Conv.30")!;
        Assert.That(NodeNaming.Matches(conv, "p2o.Conv.30"), Is.True, "node name");
        Assert.That(NodeNaming.Matches(conv, conv.Outputs[0]!.Name), Is.True, "output name");
        Assert.That(NodeNaming.Matches(conv, "conv2d_419.w_0"), Is.True, "weight name, held in a Constant node");
        Assert.That(NodeNaming.Matches(conv, "conv2d_420"), Is.False);
        using Model rfb = Model.Load(Real("version-RFB-320"));
        Assert.That(rfb.Graph.Nodes.Count(n => n.OpType == "Conv" && NodeNaming.Matches(n, "base_net.12.")), Is.GreaterThan(0), "weight names of an unnamed-node model");
    }
}
