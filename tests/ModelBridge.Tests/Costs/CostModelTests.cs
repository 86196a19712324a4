using ModelBridge.Costs;
using ModelBridge.Tests.Profiles;

namespace ModelBridge.Tests.Costs;

/// <summary>MACs against hand computations on graphs whose Value.DeclaredType is set by hand.</summary>
[TestFixture]
public sealed class CostModelTests
{
    [Test]
    public void Grouped_strided_conv_macs_match_the_hand_computation()
    {
        // N=2, C_in=8, 17x17, group=4, C_out=12, k=3x5, stride 2, pads 1/2 -> H_out = (17+2-3)/2+1 = 9, W_out = (17+4-5)/2+1 = 9
        using var g = new TinyGraph();
        Value x = g.Input("x", 2, 8, 17, 17);
        Node conv = g.Add("Conv", [x, g.Weight("w", 12, 2, 3, 5), g.Weight("b", 12)], TinyGraph.Float(2, 12, 9, 9), "/backbone/conv",
            ("group", 4L), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 2, 1, 2 }));
        CostReport r = CostModel.Compute(g.Graph);
        NodeCost c = r.Nodes.Single();
        long expected = 2L * 12 * 9 * 9 * (8 / 4) * 3 * 5;   // N·C_out·H_out·W_out·(C_in/group)·Kh·Kw = 58,320
        Assert.That(c.Macs, Is.EqualTo(expected));
        Assert.That(c.Macs, Is.EqualTo(58_320));
        Assert.That(c.Parameters, Is.EqualTo(12 * 2 * 3 * 5 + 12));
        Assert.That(c.ActivationBytes, Is.EqualTo(2L * 12 * 9 * 9 * 4));
        Assert.That(c.Ops, Is.Zero);
        Assert.That(conv.Name, Is.EqualTo("/backbone/conv"));
    }

    [Test]
    public void Depthwise_conv_macs()
    {
        using var g = new TinyGraph();
        g.Add("Conv", [g.Input("x", 1, 16, 8, 8), g.Weight("w", 32, 1, 3, 3)], TinyGraph.Float(1, 32, 8, 8), "dw", ("group", 16L), ("pads", new long[] { 1, 1, 1, 1 }));
        Assert.That(CostModel.Compute(g.Graph).TotalMacs, Is.EqualTo(1L * 32 * 8 * 8 * 1 * 3 * 3));
    }

    [Test]
    public void Gemm_macs_are_M_N_K_with_transposes()
    {
        // A [5, 7] (M=5, K=7); B stored transposed [3, 7] with transB=1 (N=3).
        using var g = new TinyGraph();
        g.Add("Gemm", [g.Input("a", 5, 7), g.Weight("b", 3, 7), g.Weight("c", 3)], TinyGraph.Float(5, 3), "fc", ("transB", 1L));
        NodeCost c = CostModel.Compute(g.Graph).Nodes.Single();
        Assert.That(c.Macs, Is.EqualTo(5 * 3 * 7));
        Assert.That(c.Parameters, Is.EqualTo(21 + 3));
    }

    [Test]
    public void Gemm_with_transA()
    {
        using var g = new TinyGraph();
        g.Add("Gemm", [g.Input("a", 7, 5), g.Weight("b", 7, 3)], TinyGraph.Float(5, 3), "fc", ("transA", 1L));
        Assert.That(CostModel.Compute(g.Graph).TotalMacs, Is.EqualTo(5 * 3 * 7));
    }

    [Test]
    public void ConvTranspose_macs_are_N_Cin_Hin_Win_Cout_over_group_Kh_Kw()
    {
        // X [1, 6, 5, 5], W [6, 4/2, 4, 4], group 2 -> C_out = 4, stride 2 -> 12x12 output.
        using var g = new TinyGraph();
        g.Add("ConvTranspose", [g.Input("x", 1, 6, 5, 5), g.Weight("w", 6, 2, 4, 4)], TinyGraph.Float(1, 4, 12, 12), "up",
            ("group", 2L), ("strides", new long[] { 2, 2 }));
        long expected = 1L * 6 * 5 * 5 * (4 / 2) * 4 * 4;   // 4,800
        Assert.That(CostModel.Compute(g.Graph).TotalMacs, Is.EqualTo(expected));
    }

    [Test]
    public void Batched_matmul_macs()
    {
        using var g = new TinyGraph();
        g.Add("MatMul", [g.Input("a", 3, 4, 5), g.Input("b", 3, 5, 6)], TinyGraph.Float(3, 4, 6), "mm");
        Assert.That(CostModel.Compute(g.Graph).TotalMacs, Is.EqualTo(3 * 4 * 6 * 5));
    }

    [Test]
    public void Unknown_output_shape_gives_null_macs_and_is_counted()
    {
        using var g = new TinyGraph();
        // An input of unknown rank: nothing downstream can be sized.
        g.Add("Conv", [g.Graph.AddInput("x", new TensorType(DataType.Float, null)), g.Weight("w", 4, 3, 3, 3)], null, "conv");
        CostReport r = CostModel.Compute(g.Graph);
        Assert.That(r.Nodes.Single().Macs, Is.Null);
        Assert.That(r.NodesWithUnknownCost, Is.EqualTo(1));
        Assert.That(r.Nodes.Single().Parameters, Is.EqualTo(4 * 3 * 3 * 3), "parameters need no shapes");
    }

    [Test]
    public void Pool_and_elementwise_ops_follow_the_convention()
    {
        using var g = new TinyGraph();
        Value x = g.Input("x", 1, 4, 8, 8);
        Node pool = g.Graph.AddNode("MaxPool", [x], ["p"], "pool");
        pool.SetInts("kernel_shape", [2, 2]);
        pool.SetInts("strides", [2, 2]);
        pool.Outputs[0]!.DeclaredType = TinyGraph.Float(1, 4, 4, 4);
        Node relu = g.Graph.AddNode("Relu", [pool.Outputs[0]], ["r"], "relu");
        relu.Outputs[0]!.DeclaredType = TinyGraph.Float(1, 4, 4, 4);
        Node gap = g.Graph.AddNode("GlobalAveragePool", [relu.Outputs[0]], ["gap"], "gap");
        gap.Outputs[0]!.DeclaredType = TinyGraph.Float(1, 4, 1, 1);
        Node flat = g.Graph.AddNode("Flatten", [gap.Outputs[0]], ["f"], "flat");
        flat.Outputs[0]!.DeclaredType = TinyGraph.Float(1, 4);
        g.Graph.SetOutputs([flat.Outputs[0]!]);

        var ops = CostModel.Compute(g.Graph).Nodes.ToDictionary(n => n.Name, n => n.Ops);
        Assert.That(ops["pool"], Is.EqualTo(64 * 4));
        Assert.That(ops["relu"], Is.EqualTo(64));
        Assert.That(ops["gap"], Is.EqualTo(64));
        Assert.That(ops["flat"], Is.Zero);
    }

    [Test]
    public void Scope_totals_sum_to_the_model_total()
    {
        using var g = new TinyGraph();
        Value x = g.Input("x", 1, 3, 16, 16);
        Node c1 = g.Graph.AddNode("Conv", [x, g.Weight("w1", 8, 3, 3, 3)], ["a"], "/backbone/stem/Conv");
        c1.SetInts("pads", [1, 1, 1, 1]);
        c1.Outputs[0]!.DeclaredType = TinyGraph.Float(1, 8, 16, 16);
        Node c2 = g.Graph.AddNode("Conv", [c1.Outputs[0], g.Weight("w2", 8, 8, 1, 1)], ["b"], "/fpn/lateral/Conv");
        c2.Outputs[0]!.DeclaredType = TinyGraph.Float(1, 8, 16, 16);
        Node r = g.Graph.AddNode("Relu", [c2.Outputs[0]], ["c"], "Relu_7");
        r.Outputs[0]!.DeclaredType = TinyGraph.Float(1, 8, 16, 16);
        Node c3 = g.Graph.AddNode("Conv", [r.Outputs[0], g.Weight("w3", 4, 8, 3, 3)], ["d"], "/head/cls/cls.0/Conv");
        c3.Outputs[0]!.DeclaredType = TinyGraph.Float(1, 4, 14, 14);
        g.Graph.SetOutputs([c3.Outputs[0]!]);

        CostReport report = CostModel.Compute(g.Graph);
        var scopes = report.Group(CostGrouping.Scope);
        Assert.That(scopes.Select(s => s.Key), Is.EquivalentTo(new[] { "/backbone", "/fpn", "/head", CostReport.RootScope }));
        Assert.That(scopes.Sum(s => s.Macs), Is.EqualTo(report.TotalMacs));
        Assert.That(scopes.Sum(s => s.Ops), Is.EqualTo(report.Total.Ops));
        Assert.That(scopes.Sum(s => s.ActivationBytes), Is.EqualTo(report.Total.ActivationBytes));
        Assert.That(report.TotalMacs, Is.EqualTo((8L * 16 * 16 * 3 * 9) + (8L * 16 * 16 * 8) + (4L * 14 * 14 * 8 * 9)));
        Assert.That(report.Group(CostGrouping.Scope, depth: 2).Select(s => s.Key), Does.Contain("/head/cls"));
        Assert.That(report.Group(CostGrouping.Op).Sum(s => s.Macs), Is.EqualTo(report.TotalMacs));
        Assert.That(report.Group(CostGrouping.Node).Sum(s => s.Macs), Is.EqualTo(report.TotalMacs));
    }

    [Test]
    public void Shared_weights_behind_Identity_are_charged_to_their_consumers_and_counted_once()
    {
        using var g = new TinyGraph();
        Value w = g.Weight("w", 4, 4, 1, 1);
        Node id = g.Graph.AddNode("Identity", [w], ["w_copy"], "Identity_0");
        Node a = g.Graph.AddNode("Conv", [g.Input("x", 1, 4, 8, 8), w], ["a"], "/head/p3/Conv");
        Node b = g.Graph.AddNode("Conv", [a.Outputs[0], id.Outputs[0]], ["b"], "/head/p4/Conv");
        g.Graph.SetOutputs([b.Outputs[0]!]);

        CostReport r = CostModel.Compute(g.Graph);
        var byName = r.Nodes.ToDictionary(n => n.Name);
        Assert.That(byName["Identity_0"].Parameters, Is.Zero);
        Assert.That(byName["/head/p4/Conv"].Parameters, Is.EqualTo(16));
        Assert.That(r.Total.Parameters, Is.EqualTo(16));
        Assert.That(r.Group(CostGrouping.Scope).Single(s => s.Key == "/head").Parameters, Is.EqualTo(16));
    }

    [TestCase("/backbone/features/0/Conv", 1, "/backbone")]
    [TestCase("/backbone/features/0/Conv", 2, "/backbone/features")]
    [TestCase("/backbone/features/0/Conv", 9, "/backbone/features/0")]
    [TestCase("Identity_3", 1, "(root)")]
    [TestCase("/Conv", 1, "(root)")]
    [TestCase("", 1, "(root)")]
    public void ScopeOf(string name, int depth, string scope) => Assert.That(CostReport.ScopeOf(name, depth), Is.EqualTo(scope));

    [Test]
    public void Fixture_parameters_match_the_initializers_read_by_nodes()
    {
        using Model m = Model.Load(Path.Combine(TestPaths.Fixtures, "resnext_block", "model.onnx"));
        CostReport r = CostModel.Compute(m.Graph);
        long initializers = m.Graph.Initializers.Where(v => v.Uses.Count > 0).Sum(v => v.Initializer!.ElementCount);
        Assert.That(r.Total.Parameters, Is.EqualTo(initializers));
        // The fixture declares no value_info: the conv outputs are sized from the shape facts Compute infers itself.
        Assert.That(r.Nodes.Where(n => n.OpType == "Conv").Select(n => n.Macs), Is.All.Not.Null);
        Assert.That(m.Graph.Nodes.Where(n => n.OpType == "Conv").Select(n => n.Outputs[0]!.DeclaredType), Is.All.Null, "the model is not changed");
    }
}
