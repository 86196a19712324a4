using ModelBridge.OnnxProto;

namespace ModelBridge.Tests.Onnx;

[TestFixture]
public sealed class ExternalDataTests
{
    private static ModelProto ModelWithTwoBigInitializers()
    {
        ModelProto p = TestModels.ReluIdentitySigmoid();
        p.Graph.Initializer.Add(TestModels.FloatTensor("w1", [1000], [.. Enumerable.Range(0, 1000).Select(i => i * 0.5f)]));
        p.Graph.Initializer.Add(TestModels.FloatTensor("w2", [3, 700], [.. Enumerable.Range(0, 2100).Select(i => -i * 0.25f)]));
        return p;
    }

    [Test]
    public void Round_trips_through_a_side_file_with_nonzero_offsets()
    {
        using var dir = TestPaths.NewTempDir();
        using Model m = Model.Load(ModelWithTwoBigInitializers().ToByteArray());
        m.Save(dir.File("ext.onnx"), new SaveOptions { ExternalData = new ExternalDataOptions("ext.data") { SizeThreshold = 1024 } });

        ModelProto stored = ModelProto.Parser.ParseFrom(File.ReadAllBytes(dir.File("ext.onnx")));
        var external = stored.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToList();
        Assert.That(external.Select(t => t.Name), Is.EquivalentTo(new[] { "w1", "w2" }));
        Assert.That(external.Select(t => long.Parse(t.ExternalData.Single(e => e.Key == "offset").Value)), Has.Some.GreaterThan(0));
        Assert.That(stored.Graph.Initializer.Single(t => t.Name == "bias").HasRawData, Is.True, "small tensors stay inline");

        using Model back = Model.Load(dir.File("ext.onnx"));
        Tensor w1 = back.Graph.GetValue("w1").Initializer!;
        Assert.That(w1.External, Is.Not.Null);
        Assert.That(w1.IsLoaded, Is.False, "external data is read lazily");
        Assert.That(w1.AsSpan<float>()[999], Is.EqualTo(499.5f));
        Assert.That(back.Graph.GetValue("w2").Initializer!.AsSpan<float>()[2099], Is.EqualTo(-2099 * 0.25f));
        // Saving inline again reproduces the original model exactly.
        Assert.That(back.ToBytes(), Is.EqualTo(ModelWithTwoBigInitializers().ToByteArray()));
    }

    private static byte[] ModelPointingAt(string location)
    {
        ModelProto p = TestModels.ReluIdentitySigmoid();
        var t = new TensorProto { Name = "evil", DataType = 1, DataLocation = TensorProto.Types.DataLocation.External };
        t.Dims.Add(4);
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "0" });
        t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = "16" });
        p.Graph.Initializer.Add(t);
        return p.ToByteArray();
    }

    [TestCase("../x")]
    [TestCase("sub/../../x")]
    [TestCase("/etc/passwd")]
    public void Refuses_locations_outside_the_model_folder(string location)
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllBytes(dir.File("m.onnx"), ModelPointingAt(location));
        var ex = Assert.Throws<UnsafeExternalDataException>(() => Model.Load(dir.File("m.onnx")));
        Assert.That(ex!.TensorName, Is.EqualTo("evil"));
        Assert.That(ex.Message, Does.Contain("evil").And.Contain(location));
    }

    [Test]
    public void Refuses_a_symlink_that_escapes_the_model_folder()
    {
        using var outside = TestPaths.NewTempDir();
        using var dir = TestPaths.NewTempDir();
        File.WriteAllBytes(outside.File("secret.bin"), new byte[16]);
        File.CreateSymbolicLink(dir.File("link.bin"), outside.File("secret.bin"));
        Directory.CreateSymbolicLink(dir.File("linkdir"), outside.Path);
        File.WriteAllBytes(dir.File("a.onnx"), ModelPointingAt("link.bin"));
        File.WriteAllBytes(dir.File("b.onnx"), ModelPointingAt("linkdir/secret.bin"));

        Assert.That(() => Model.Load(dir.File("a.onnx")), Throws.TypeOf<UnsafeExternalDataException>().With.Message.Contains("symbolic link"));
        Assert.That(() => Model.Load(dir.File("b.onnx")), Throws.TypeOf<UnsafeExternalDataException>().With.Message.Contains("symbolic link"));
    }

    [Test]
    public void A_symlink_inside_the_folder_is_allowed()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllBytes(dir.File("real.bin"), new byte[16]);
        File.CreateSymbolicLink(dir.File("alias.bin"), dir.File("real.bin"));
        File.WriteAllBytes(dir.File("m.onnx"), ModelPointingAt("alias.bin"));
        using Model m = Model.Load(dir.File("m.onnx"));
        Assert.That(m.Graph.GetValue("evil").Initializer!.AsSpan<float>().ToArray(), Is.EqualTo(new float[4]));
    }

    [Test]
    public void Refuses_offsets_past_the_end_of_the_file()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllBytes(dir.File("short.bin"), new byte[8]);
        File.WriteAllBytes(dir.File("m.onnx"), ModelPointingAt("short.bin"));
        using Model m = Model.Load(dir.File("m.onnx"));
        Assert.That(() => m.Graph.GetValue("evil").Initializer!.Data, Throws.TypeOf<InvalidModelException>().With.Message.Contains("past the end").And.Message.Contains("evil"));
    }

    [Test]
    public void Model_from_bytes_without_a_folder_cannot_resolve_external_data()
    {
        Assert.That(() => Model.Load(ModelPointingAt("x.bin")), Throws.TypeOf<InvalidModelException>().With.Message.Contains("evil"));
    }
}
