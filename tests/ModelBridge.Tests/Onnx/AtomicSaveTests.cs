namespace ModelBridge.Tests.Onnx;

[TestFixture]
public sealed class AtomicSaveTests
{
    [Test]
    public void A_failed_write_leaves_the_existing_target_untouched_and_no_temp_files()
    {
        using var dir = TestPaths.NewTempDir();
        string target = dir.File("out.onnx");
        File.WriteAllText(target, "previous content");

        Assert.That(() => AtomicFile.Write(target, s =>
        {
            s.Write(new byte[100]);
            throw new IOException("disk full (injected)");
        }), Throws.TypeOf<IOException>());

        Assert.That(File.ReadAllText(target), Is.EqualTo("previous content"));
        Assert.That(Directory.GetFiles(dir.Path), Is.EqualTo(new[] { target }));
    }

    [Test]
    public void A_failed_save_leaves_no_file_when_there_was_none()
    {
        using var dir = TestPaths.NewTempDir();
        string target = dir.File("out.onnx");
        Assert.That(() => AtomicFile.Write(target, _ => throw new IOException("injected")), Throws.TypeOf<IOException>());
        Assert.That(Directory.GetFiles(dir.Path), Is.Empty);
    }

    [Test]
    public void Saving_over_the_source_file_keeps_the_loaded_model_readable()
    {
        using var dir = TestPaths.NewTempDir();
        string path = dir.File("m.onnx");
        byte[] original = TestModels.Bytes(TestModels.ReluIdentitySigmoid());
        File.WriteAllBytes(path, original);
        using Model m = Model.Load(path, new LoadOptions { MemoryMapThreshold = 1 });
        m.Graph.FindNode("neg")!.SetInt("marker", 1);
        m.Save(path);
        Assert.That(m.Graph.GetValue("bias").Initializer!.AsSpan<float>().ToArray(), Is.EqualTo(new[] { 0.5f, -1f, 2f }));
        using Model back = Model.Load(path);
        Assert.That(back.Graph.FindNode("neg")!.GetInt("marker", 0), Is.EqualTo(1));
    }
}
