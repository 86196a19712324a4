using System.Security.Cryptography;
using ModelBridge.Cli;
using ModelBridge.Profiles;

namespace ModelBridge.Tests.Robustness;

/// <summary>Files ModelBridge writes are all-or-nothing, and the input model is never modified.</summary>
[TestFixture]
[NonParallelizable] // Redirects the console for the CLI.
public sealed class OutputSafetyTests
{
    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static string[] Leftovers(string dir) =>
        [.. Directory.GetFiles(dir).Select(Path.GetFileName).Where(n => n!.EndsWith(".tmp", StringComparison.Ordinal) || n.EndsWith(".bak", StringComparison.Ordinal))!];

    private static string CopyFixture(TempDir dir, string fixture = "resnext_block")
    {
        string path = dir.File("in.onnx");
        File.Copy(Path.Combine(TestPaths.Fixtures, fixture, "model.onnx"), path);
        return path;
    }

    private static (int Code, string Out, string Err) Cli(params string[] args) => Tests.Cli.CliHarness.Run(args);

    [Test]
    public void Convert_refuses_to_replace_its_input_unless_forced()
    {
        using TempDir dir = TestPaths.NewTempDir();
        string input = CopyFixture(dir, "batchnorm_unfused"); // conversion folds its BatchNorms, so the bytes change
        string before = Hash(input);

        var (code, _, err) = Cli("convert", input, "--target", "ort-nnapi", "-o", input);
        Assert.That(code, Is.EqualTo(Program.Usage));
        Assert.That(err, Does.Contain("refusing to replace the input").And.Contain("--force"));
        Assert.That(Hash(input), Is.EqualTo(before));
        Assert.That(File.Exists(ConvertCommand.MapPathFor(input)), Is.False);

        (code, _, err) = Cli("convert", input, "--target", "ort-nnapi", "-o", input, "--force");
        Assert.That(code, Is.EqualTo(Program.Ok), err);
        Assert.That(Hash(input), Is.Not.EqualTo(before));
        Assert.That(Leftovers(dir.Path), Is.Empty);
    }

    [Test]
    public void No_command_modifies_the_input_model()
    {
        using TempDir dir = TestPaths.NewTempDir();
        string input = CopyFixture(dir, "retinanet_mbv2_gn_op13");
        string before = Hash(input);
        DateTime written = File.GetLastWriteTimeUtc(input);

        Assert.That(Cli("inspect", input).Code, Is.EqualTo(Program.Ok));
        Assert.That(Cli("check", input, "--target", "ort-nnapi").Code, Is.AnyOf(Program.Ok, Program.Unsupported));
        Assert.That(Cli("profile", input).Code, Is.EqualTo(Program.Ok));
        Assert.That(Cli("convert", input, "--target", "ort-nnapi", "-o", dir.File("out.onnx")).Code, Is.EqualTo(Program.Ok));
        // The library path too, with the file memory-mapped.
        using (Model m = Model.Load(input, new LoadOptions { MemoryMapThreshold = 1 }))
        {
            ConversionResult r = ModelConverter.Convert(m, TargetProfile.BuiltIn("tflite-builtins"));
            using Model c = r.Model;
            c.Save(dir.File("lib.onnx"));
        }

        Assert.That(Hash(input), Is.EqualTo(before));
        Assert.That(File.GetLastWriteTimeUtc(input), Is.EqualTo(written));
    }

    [Test]
    public void A_conversion_killed_mid_write_leaves_both_outputs_unchanged_and_no_temp_files()
    {
        using TempDir dir = TestPaths.NewTempDir();
        using Model original = Model.Load(CopyFixture(dir));
        ConversionResult r = ModelConverter.Convert(original, TargetProfile.BuiltIn("ort-nnapi"));
        using Model converted = r.Model;
        string modelPath = dir.File("out.onnx"), mapPath = ConvertCommand.MapPathFor(modelPath);
        File.WriteAllText(modelPath, "previous model");
        File.WriteAllText(mapPath, "previous map");
        byte[] bytes = converted.ToBytes();

        // The map is written completely, then the model stream dies halfway (disk full, process killed).
        Assert.That(() => AtomicFile.WriteAll(
        [
            (mapPath, s => s.Write(System.Text.Encoding.UTF8.GetBytes(r.TensorMap.ToJson()))),
            (modelPath, s =>
            {
                s.Write(bytes, 0, bytes.Length / 2);
                throw new IOException("No space left on device (injected)");
            }),
        ]), Throws.TypeOf<IOException>());

        Assert.That(File.ReadAllText(modelPath), Is.EqualTo("previous model"));
        Assert.That(File.ReadAllText(mapPath), Is.EqualTo("previous map"));
        Assert.That(Leftovers(dir.Path), Is.Empty);
    }

    [Test]
    public void A_rename_that_fails_puts_back_the_files_already_replaced()
    {
        using TempDir dir = TestPaths.NewTempDir();
        using Model m = Model.Load(CopyFixture(dir));
        string data = dir.File("weights.bin");
        File.WriteAllText(data, "old weights");
        Directory.CreateDirectory(dir.File("out.onnx")); // the model cannot be renamed over a folder

        // The side file is renamed first; the model's rename then fails, so the side file must come back.
        Assert.That(() => m.Save(dir.File("out.onnx"), new SaveOptions { ExternalData = new ExternalDataOptions("weights.bin") { SizeThreshold = 16 } }),
            Throws.InstanceOf<IOException>().Or.InstanceOf<UnauthorizedAccessException>());

        Assert.That(File.ReadAllText(data), Is.EqualTo("old weights"));
        Assert.That(Leftovers(dir.Path), Is.Empty);
    }

    [Test]
    public void A_save_whose_folder_cannot_be_created_writes_nothing()
    {
        using TempDir dir = TestPaths.NewTempDir();
        using Model m = Model.Load(CopyFixture(dir));
        File.WriteAllText(dir.File("blocker"), "a file where a folder should be");
        Assert.That(() => m.Save(Path.Combine(dir.File("blocker"), "out.onnx")), Throws.InstanceOf<IOException>());
        Assert.That(Directory.GetFiles(dir.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { "in.onnx", "blocker" }));
    }

    [Test]
    public void Converting_a_malformed_model_exits_2_and_writes_nothing()
    {
        using TempDir dir = TestPaths.NewTempDir();
        string input = CopyFixture(dir);
        byte[] bytes = File.ReadAllBytes(input);
        File.WriteAllBytes(input, bytes[..(bytes.Length / 3)]);
        var (code, _, err) = Cli("convert", input, "--target", "ort-nnapi", "-o", dir.File("out.onnx"));
        Assert.That(code, Is.EqualTo(Program.InvalidModel));
        Assert.That(err, Does.Contain("Malformed protobuf"));
        Assert.That(Directory.GetFiles(dir.Path).Select(Path.GetFileName), Is.EqualTo(new[] { "in.onnx" }));
    }
}
