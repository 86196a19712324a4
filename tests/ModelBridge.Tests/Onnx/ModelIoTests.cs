using Google.Protobuf;
using ModelBridge.OnnxProto;

namespace ModelBridge.Tests.Onnx;

[TestFixture]
public sealed class ModelIoTests
{
    [Test]
    public void Unknown_fields_survive_at_model_and_node_level()
    {
        ModelProto proto = TestModels.ReluIdentitySigmoid();
        byte[] baseBytes = proto.ToByteArray();
        // Append field 1000 (varint) to the model, and field 77 (length-delimited) inside node 0.
        var model = new MemoryStream();
        model.Write(baseBytes);
        var extra = new CodedOutputStream(model, leaveOpen: true);
        extra.WriteTag(1000, WireFormat.WireType.Varint);
        extra.WriteInt64(424242);
        extra.Flush();
        ModelProto withUnknown = ModelProto.Parser.ParseFrom(model.ToArray());
        var nodeExtra = new MemoryStream();
        var co = new CodedOutputStream(nodeExtra, leaveOpen: true);
        co.WriteTag(77, WireFormat.WireType.LengthDelimited);
        co.WriteString("node-secret");
        co.Flush();
        withUnknown.Graph.Node[0].MergeFrom(nodeExtra.ToArray());
        byte[] input = withUnknown.ToByteArray();

        using Model loaded = Model.Load(input);
        byte[] saved = loaded.ToBytes();

        Assert.That(saved, Is.EqualTo(input));
        string text = ModelProto.Parser.ParseFrom(saved).ToString();
        Assert.That(ModelProto.Parser.ParseFrom(saved).Graph.Node[0].CalculateSize(), Is.EqualTo(withUnknown.Graph.Node[0].CalculateSize()));
        Assert.That(saved.AsSpan().IndexOf("node-secret"u8), Is.GreaterThan(0));
        Assert.That(text, Is.Not.Empty);
    }

    [Test]
    public void Unknown_fields_survive_an_edit_of_another_node()
    {
        ModelProto proto = TestModels.ReluIdentitySigmoid();
        var nodeExtra = new MemoryStream();
        var co = new CodedOutputStream(nodeExtra, leaveOpen: true);
        co.WriteTag(77, WireFormat.WireType.LengthDelimited);
        co.WriteString("kept-on-relu");
        co.Flush();
        proto.Graph.Node[1].MergeFrom(nodeExtra.ToArray());
        using Model m = Model.Load(proto.ToByteArray());
        Node neg = m.Graph.FindNode("neg")!;
        neg.SetInt("unused_marker", 1);
        byte[] saved = m.ToBytes();
        Assert.That(saved.AsSpan().IndexOf("kept-on-relu"u8), Is.GreaterThan(0));
    }

    [Test]
    public void Removing_an_identity_rewires_its_consumers_and_stays_valid()
    {
        using Model m = Model.Load(TestModels.Bytes(TestModels.ReluIdentitySigmoid()));
        Graph g = m.Graph;
        Node identity = g.FindNode("identity")!;
        Value input = identity.Inputs[0]!;
        Value output = identity.Outputs[0]!;
        Assert.That(output.Uses, Has.Count.EqualTo(2));

        g.ReplaceAllUsesWith(output, input);
        g.RemoveNode(identity);
        using var dir = TestPaths.NewTempDir();
        m.Save(dir.File("edited.onnx"));
        using Model reloaded = Model.Load(dir.File("edited.onnx"));

        Graph r = reloaded.Graph;
        Assert.That(r.Nodes.Select(n => n.OpType), Has.None.EqualTo("Identity"));
        Assert.That(r.NodeCount, Is.EqualTo(5));
        Assert.That(r.FindNode("sigmoid")!.Inputs[0]!.Name, Is.EqualTo("r"));
        Assert.That(r.FindNode("neg")!.Inputs[0]!.Name, Is.EqualTo("r"));
        Assert.That(r.GetValue("r").Uses.Select(u => u.Node.Name), Is.EquivalentTo(new[] { "sigmoid", "neg" }));
        Assert.That(r.FindProblems(), Is.Empty);
    }

    [Test]
    public void Loads_from_path_stream_and_bytes_alike()
    {
        byte[] bytes = TestModels.Bytes(TestModels.ReluIdentitySigmoid());
        using var dir = TestPaths.NewTempDir();
        File.WriteAllBytes(dir.File("m.onnx"), bytes);
        using Model a = Model.Load(dir.File("m.onnx"));
        using Model b = Model.Load(new MemoryStream(bytes));
        using Model c = Model.Load(bytes);
        Assert.That(a.ToBytes(), Is.EqualTo(bytes));
        Assert.That(b.ToBytes(), Is.EqualTo(bytes));
        Assert.That(c.ToBytes(), Is.EqualTo(bytes));
        Assert.That(a.Graph.GetValue("bias").Initializer!.AsSpan<float>().ToArray(), Is.EqualTo(new[] { 0.5f, -1f, 2f }));
    }

    [Test]
    public void Large_files_are_memory_mapped_and_initializers_are_views()
    {
        ModelProto proto = TestModels.ReluIdentitySigmoid();
        float[] big = Enumerable.Range(0, 1 << 16).Select(i => (float)i).ToArray();
        proto.Graph.Initializer.Add(TestModels.FloatTensor("big", [big.Length], big));
        using var dir = TestPaths.NewTempDir();
        File.WriteAllBytes(dir.File("m.onnx"), proto.ToByteArray());
        using Model m = Model.Load(dir.File("m.onnx"), new LoadOptions { MemoryMapThreshold = 1 });
        Tensor t = m.Graph.GetValue("big").Initializer!;
        Assert.That(t.AsSpan<float>()[12345], Is.EqualTo(12345f));
        Assert.That(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(t.Data, out _), Is.False, "a mapped payload is not a managed array");
        Assert.That(m.ToBytes(), Is.EqualTo(proto.ToByteArray()));
    }

    [Test]
    public void Clone_is_independent_of_the_original()
    {
        using Model m = Model.Load(TestModels.Bytes(TestModels.ReluIdentitySigmoid()));
        byte[] before = m.ToBytes();
        using Model c = m.Clone();
        Node id = c.Graph.FindNode("identity")!;
        c.Graph.ReplaceAllUsesWith(id.Outputs[0]!, id.Inputs[0]!);
        c.Graph.RemoveNode(id);
        Assert.That(m.ToBytes(), Is.EqualTo(before));
        Assert.That(c.Graph.NodeCount, Is.EqualTo(m.Graph.NodeCount - 1));
    }

    [Test]
    public void Truncated_file_raises_InvalidModelException()
    {
        byte[] bytes = TestModels.Bytes(TestModels.ReluIdentitySigmoid());
        var ex = Assert.Throws<InvalidModelException>(() => Model.Load(bytes.AsMemory(0, bytes.Length - 7)));
        Assert.That(ex!.Message, Does.Contain("Malformed protobuf"));
    }

    [Test]
    public void Empty_file_raises_InvalidModelException()
    {
        Assert.That(() => Model.Load(ReadOnlyMemory<byte>.Empty), Throws.TypeOf<InvalidModelException>().With.Message.Contains("empty"));
    }
}
