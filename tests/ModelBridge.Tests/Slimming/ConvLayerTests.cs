using ModelBridge.Shapes;
using ModelBridge.Slimming;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Slimming;

[TestFixture]
public sealed class ConvLayerTests
{
    [Test]
    public void A_weight_shared_through_identity_is_one_layer_with_two_sites()
    {
        using Model m = Conv(new ConvSpec { Input = [1, 4, 8, 8], OutChannels = 4, Pads = [1, 1, 1, 1], Name = "/head/0/Conv" });
        Graph g = m.Graph;
        Node id = g.AddNode("Identity", [g.GetValue("w")], ["w_shared"], name: "id");
        Node second = g.AddNode("Conv", [g.GetValue("y"), id.Outputs[0], g.GetValue("b")], ["y2"], name: "/head/1/Conv");
        second.SetInts("kernel_shape", [3, 3]);
        second.SetInts("strides", [2, 2]);
        second.SetInts("pads", [1, 1, 1, 1]);
        g.SetOutputs([second.Outputs[0]!]);
        var (layers, excluded) = ConvLayer.Find(g, ShapeInference.Run(g), "/head/");
        Assert.That(excluded, Has.Some.Contains("different strides"), "sharing needs one geometry");
        Assert.That(layers, Is.Empty);
        second.SetInts("strides", [1, 1]);
        (layers, excluded) = ConvLayer.Find(g, ShapeInference.Run(g), "/head/");
        ConvLayer layer = layers.Single();
        Assert.That(layer.Sites.Select(s => s.Node), Is.EqualTo(new[] { "/head/0/Conv", "/head/1/Conv" }));
        Assert.That((layer.Weight, layer.Bias), Is.EqualTo(("w", "b")));
        Assert.That(layer.OriginalMacs, Is.EqualTo(2L * 64 * 4 * 36));
        Assert.That(layer.OriginalParameters, Is.EqualTo(4 * 36 + 4), "a shared weight counts once");
        Assert.That(ConvLayer.Find(g, ShapeInference.Run(g), "/head/1/").Excluded.Single(), Does.Contain("outside the scope"));
    }

    [Test]
    public void Grouped_convs_and_unpinned_shapes_are_excluded_with_a_reason()
    {
        using Model grouped = Conv(new ConvSpec { Group = 2 });
        Assert.That(ConvLayer.Find(grouped.Graph, ShapeInference.Run(grouped.Graph), "").Excluded.Single(), Does.Contain("group"));
        using Model dynamic = Conv(new ConvSpec());
        dynamic.Graph.GetValue("x").DeclaredType = new TensorType(DataType.Float, new TensorShape([Dim.Sym("N"), Dim.Of(4), Dim.Sym("H"), Dim.Sym("W")]));
        Assert.That(ConvLayer.Find(dynamic.Graph, ShapeInference.Run(dynamic.Graph), "").Excluded.Single(), Does.Contain("pin the input size"));
    }

    [Test]
    public void Same_auto_pad_is_resolved_to_explicit_pads()
    {
        using Model m = Conv(new ConvSpec { Input = [1, 4, 7, 8], AutoPad = "SAME_LOWER", Strides = [2, 2], Kernel = [3, 4] });
        ConvLayer layer = ConvLayer.Find(m.Graph, ShapeInference.Run(m.Graph), "").Layers.Single();
        // H: out 4, total = (4-1)·2 + 3 - 7 = 2 → 1/1; W: out 4, total = 3·2 + 4 - 8 = 2 → 1/1.
        Assert.That(layer.Pads, Is.EqualTo(new long[] { 1, 1, 1, 1 }));
        using Model odd = Conv(new ConvSpec { Input = [1, 4, 8, 8], AutoPad = "SAME_LOWER", Strides = [1, 1], Kernel = [2, 2] });
        // total 1: SAME_LOWER puts the odd pad at the beginning.
        Assert.That(ConvLayer.Find(odd.Graph, ShapeInference.Run(odd.Graph), "").Layers.Single().Pads, Is.EqualTo(new long[] { 1, 1, 0, 0 }));
    }
}
