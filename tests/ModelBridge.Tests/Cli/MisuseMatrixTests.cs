using ModelBridge.Cli;

namespace ModelBridge.Tests.Cli;

/// <summary>
/// Every way of misusing the CLI that we know of gets one <c>error:</c> line naming what is wrong, a
/// documented exit code, and no stack trace. Paths in the cases use <c>{tmp}</c> for a folder set up once
/// (a converted model and its manifest, a garbage model, a file where a folder is expected).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class MisuseMatrixTests
{
    private const string Static = "{fixtures}/resnet_small/model.onnx";
    private const string Dynamic = "{fixtures}/dynamic_batch/model.onnx";
    private const string Converted = "{tmp}/converted.onnx";

    private TempDir _tmp = null!;

    private static IEnumerable<TestCaseData> Cases()
    {
        static TestCaseData Case(string name, int code, string message, params string[] args) =>
            new TestCaseData(args, code, message).SetName("{m}: " + name);

        // Parsing.
        yield return Case("no command", Program.Usage, "no command given. Commands: inspect, check, profile, convert, verify, completion");
        yield return Case("mistyped verb", Program.Usage, "unknown command 'conver'; did you mean 'convert'?", "conver");
        yield return Case("missing -o and --target", Program.Usage, "Option '--output' is required", "convert", Static);
        yield return Case("mistyped option", Program.Usage, "unknown option '--tagret' for 'modelbridge convert'; did you mean '--target'?",
            "convert", Static, "-t", "ort-nnapi", "-o", "{tmp}/o.onnx", "--tagret", "x");
        yield return Case("extra argument", Program.Usage, "unexpected argument 'second.onnx' for 'modelbridge inspect'", "inspect", Static, "second.onnx");
        yield return Case("non-integer --depth", Program.Usage, "--depth", "profile", Static, "--depth", "deep");
        yield return Case("unknown --by", Program.Usage, "--by", "profile", Static, "--by", "layer");
        // Targets.
        yield return Case("mistyped target", Program.Usage, "unknown target 'ort-nnap'; did you mean 'ort-nnapi'? Built-in targets: ncnn, ort-coreml-mlprogram",
            "convert", Static, "-t", "ort-nnap", "-o", "{tmp}/o.onnx");
        yield return Case("missing profile file", Program.Usage, "profile file", "check", Static, "--target", "{tmp}/missing-profile.json");
        yield return Case("target is a folder", Program.Usage, "is a folder, not a profile JSON file", "check", Static, "--target", "{tmp}");
        // Files.
        yield return Case("missing model", Program.Usage, "model '", "inspect", "{tmp}/missing.onnx");
        yield return Case("model is a folder", Program.Usage, "is a folder, not an ONNX file", "inspect", "{tmp}");
        yield return Case("garbage model", Program.InvalidModel, "garbage.onnx", "inspect", "{tmp}/garbage.onnx");
        yield return Case("garbage model, --json", Program.InvalidModel, "garbage.onnx", "convert", "{tmp}/garbage.onnx", "-t", "ort-nnapi", "-o", "{tmp}/o.onnx", "--json");
        yield return Case("a future opset", Program.Unsupported, "opset 99", "convert", "{tmp}/future.onnx", "-t", "ort-nnapi", "-o", "{tmp}/o.onnx");
        yield return Case("output is a folder", Program.Usage, "is a folder; give the file to write", "convert", Static, "-t", "ort-nnapi", "-o", "{tmp}");
        yield return Case("output under a file", Program.IoError, "cannot write '", "convert", Static, "-t", "ort-nnapi", "-o", "{tmp}/blocker/o.onnx");
        yield return Case("report under a file", Program.IoError, "cannot write '", "verify", Static, Converted, "--report", "{tmp}/blocker/report");
        yield return Case("output is the input", Program.Usage, "refusing to replace the input", "convert", Converted, "-t", "ort-nnapi", "-o", Converted);
        // Dimensions and shapes.
        yield return Case("--set-dim of an absent symbol", Program.Usage, "--set-dim Q=4: the model has no symbolic dimension 'Q'. Its symbols: N",
            "convert", Dynamic, "-t", "ort-nnapi", "-o", "{tmp}/o.onnx", "--set-dim", "Q=4");
        yield return Case("--set-dim on a static model", Program.Usage, "It has none", "inspect", Static, "--set-dim", "N=1");
        yield return Case("--set-dim without a size", Program.Usage, "--set-dim expects NAME=POSITIVE_INTEGER, got 'N=x'", "inspect", Dynamic, "--set-dim", "N=x");
        yield return Case("--set-dim twice, differently", Program.Usage, "already set it to 1", "inspect", Dynamic, "--set-dim", "N=1", "--set-dim", "N=2");
        yield return Case("--input-shape of an absent input", Program.Usage, "no input 'images'. Its inputs: input", "inspect", Dynamic, "--input-shape", "images=1,3,32,32");
        yield return Case("--input-shape of the wrong rank", Program.Usage, "input 'input' has rank 4 (float[N,3,32,32]), not 3", "inspect", Dynamic, "--input-shape", "input=1,3,32");
        yield return Case("--input-shape against a static dim", Program.Usage, "dimension 1 of input 'input' is fixed at 3", "inspect", Dynamic, "--input-shape", "input=1,4,32,32");
        yield return Case("--input-shape malformed", Program.Usage, "--input-shape expects INPUT=D0,D1,...", "inspect", Dynamic, "--input-shape", "input=1,3,x,32");
        yield return Case("--input-shape against --set-dim", Program.Usage, "sets 'N' to 2, but --set-dim N=1 already set it to 1",
            "inspect", Dynamic, "--set-dim", "N=1", "--input-shape", "input=2,3,32,32");
        // Conversion options.
        yield return Case("--keep-classes not numbers", Program.Usage, "--keep-classes expects comma-separated class ids such as 0,2,5; 'abc'",
            "convert", Static, "-t", "ort-nnapi", "-o", "{tmp}/o.onnx", "--keep-classes", "abc");
        yield return Case("--drop-level malformed", Program.Usage, "--drop-level: 'Q3' is not an FPN level", "convert", Static, "-t", "ort-nnapi", "-o", "{tmp}/o.onnx", "--drop-level", "Q3");
        yield return Case("--layout unknown", Program.Usage, "--layout expects anchor-major or class-major", "convert", Static, "-t", "ort-nnapi", "-o", "{tmp}/o.onnx", "--layout", "diag");
        yield return Case("--rename-outputs map missing", Program.Usage, "--rename-outputs: map file", "convert", Static, "-t", "ort-nnapi", "-o", "{tmp}/o.onnx", "--rename-outputs", "{tmp}/names.json");
        yield return Case("--rename-outputs map malformed", Program.Usage, "is not a rename map", "convert", Static, "-t", "ort-nnapi", "-o", "{tmp}/o.onnx", "--rename-outputs", "{tmp}/converted.manifest.json");
        yield return Case("--error-budget out of range", Program.Usage, "--error-budget expects a relative error in [0, 1)", "convert", Static, "-t", "ort-nnapi", "-o", "{tmp}/o.onnx", "--error-budget", "2");
        yield return Case("--report without --verify", Program.Usage, "--report needs --verify", "convert", Static, "-t", "ort-nnapi", "-o", "{tmp}/o.onnx", "--report", "{tmp}/r");
        // Verification options.
        yield return Case("--map is the manifest", Program.Usage, "--map '", "verify", Static, Converted, "--map", "{tmp}/converted.manifest.json");
        yield return Case("--map is the manifest, --json", Program.Usage, "is not a ModelBridge tensor map", "verify", Static, Converted, "--json", "--map", "{tmp}/converted.manifest.json");
        yield return Case("--map missing", Program.Usage, "--map: tensor map", "verify", Static, Converted, "--map", "{tmp}/missing.map.json");
        yield return Case("--inputs and --random", Program.Usage, "give either --inputs or --random, not both", "verify", Static, Converted, "--inputs", "{tmp}", "--random", "2");
        yield return Case("--inputs missing", Program.Usage, "--inputs: folder", "verify", Static, Converted, "--inputs", "{tmp}/no-such-folder");
        yield return Case("--random 0", Program.Usage, "--random expects a number of samples >= 1", "verify", Static, Converted, "--random", "0");
        yield return Case("--rule unknown", Program.Usage, "--rule expects elementwise, relative-to-max or cosine, got 'cosin'; did you mean 'cosine'?", "verify", Static, Converted, "--rule", "cosin");
        yield return Case("--atol negative", Program.Usage, "--atol expects a finite number >= 0, got -1", "verify", Static, Converted, "--atol", "-1");
        yield return Case("--rtol not a number", Program.Usage, "--rtol expects a finite number such as 1e-4, got 'tight'", "verify", Static, Converted, "--rtol", "tight");
        yield return Case("--cosine above 1", Program.Usage, "--cosine expects a similarity in [-1, 1]", "convert", Static, "-t", "ort-nnapi", "-o", "{tmp}/o.onnx", "--verify", "--cosine", "2");
        yield return Case("--max-memory malformed", Program.Usage, "--max-memory expects a size such as 2GB", "verify", Static, Converted, "--max-memory", "lots");
        yield return Case("--max-memory too small", Program.Usage, "--max-memory must be at least 1MB", "verify", Static, Converted, "--max-memory", "10K");
        yield return Case("test data that is not a tensor", Program.InvalidModel, "input_0.pb", "verify", Static, Converted, "--inputs", "{tmp}/bad_data");
        // Completion.
        yield return Case("unknown shell", Program.Usage, "completion: unknown shell 'bsh'; did you mean 'bash'?", "completion", "bsh");
    }

    [OneTimeSetUp]
    public void SetUp()
    {
        _tmp = TestPaths.NewTempDir();
        File.WriteAllBytes(_tmp.File("garbage.onnx"), [0x0a, 0xff, 0xff, 0x01, 0x12]);
        File.WriteAllText(_tmp.File("blocker"), "a file where a folder is expected");
        Directory.CreateDirectory(_tmp.File("bad_data"));
        File.WriteAllBytes(Path.Combine(_tmp.File("bad_data"), "input_0.pb"), [0xff, 0xff, 0xff, 0xff, 0x0f]);
        var (code, _, err) = CliHarness.Run("convert", CliHarness.Fixture("resnet_small"), "-t", "ort-nnapi", "-o", _tmp.File("converted.onnx"));
        Assert.That(code, Is.EqualTo(Program.Ok), err);
        ModelBridge.OnnxProto.ModelProto future = ModelBridge.OnnxProto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(CliHarness.Fixture("resnet_small")));
        future.OpsetImport.Single(o => o.Domain.Length == 0).Version = 99;
        File.WriteAllBytes(_tmp.File("future.onnx"), future.ToByteArray());
    }

    [OneTimeTearDown]
    public void TearDown() => _tmp.Dispose();

    [Test]
    public void The_matrix_covers_at_least_twenty_misuses() => Assert.That(Cases().Count(), Is.GreaterThanOrEqualTo(20));

    [TestCaseSource(nameof(Cases))]
    public void Misuse_gets_one_line_and_its_exit_code(string[] args, int code, string message)
    {
        string[] resolved = [.. args.Select(a => a.Replace("{tmp}", _tmp.Path, StringComparison.Ordinal).Replace("{fixtures}", TestPaths.Fixtures, StringComparison.Ordinal))];
        var (actual, stdout, stderr) = CliHarness.Run(resolved);
        Assert.That(actual, Is.EqualTo(code), stderr);
        CliHarness.AssertOneErrorLine(stderr);
        Assert.That(stderr, Does.Contain(message));
        Assert.That(stdout, Is.Empty.Or.Not.Contain("   at "), "no stack trace on stdout either");
        if (args.Contains("--json"))
        {
            Assert.That(stdout, Is.Empty, "with --json, a failure leaves stdout empty");
        }
    }

    [Test]
    public void An_unwritable_output_folder_is_an_io_error_naming_the_path()
    {
        // As root, permission bits do not stop writes, but a read-only file system (sysfs) does.
        string folder;
        if (Environment.UserName == "root" && Directory.Exists("/sys/kernel"))
        {
            folder = "/sys";
        }
        else if (!OperatingSystem.IsWindows())
        {
            folder = _tmp.File("readonly");
            Directory.CreateDirectory(folder);
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }
        else
        {
            Assert.Ignore("needs a folder the test cannot write to");
            return;
        }
        string output = Path.Combine(folder, "out.onnx");
        var (code, _, stderr) = CliHarness.Run("convert", CliHarness.Fixture("resnet_small"), "-t", "ort-nnapi", "-o", output);
        Assert.That(code, Is.EqualTo(Program.IoError), stderr);
        CliHarness.AssertOneErrorLine(stderr);
        Assert.That(stderr, Does.Contain($"cannot write '{output}'").And.Contain("denied"));
        Assert.That(File.Exists(output), Is.False);
    }

    [TestCase(typeof(UnauthorizedAccessException), Program.IoError)]
    [TestCase(typeof(IOException), Program.IoError)]
    [TestCase(typeof(InvalidDataException), Program.InvalidModel)]
    [TestCase(typeof(NotSupportedException), Program.Unsupported)]
    [TestCase(typeof(FormatException), Program.Usage)]
    [TestCase(typeof(NullReferenceException), Program.Internal)]
    [TestCase(typeof(InvalidOperationException), Program.Internal)]
    public void Exceptions_no_command_anticipates_still_get_a_documented_code(Type type, int code)
    {
        var ex = (Exception)Activator.CreateInstance(type, "something went wrong\n  detail one\n  detail two")!;
        var (actual, message) = CliErrors.Classify(ex);
        Assert.That(actual, Is.EqualTo(code));
        TextWriter old = Console.Error;
        using var stderr = new StringWriter();
        Console.SetError(stderr);
        try
        {
            Assert.That(CliErrors.Report(ex), Is.EqualTo(code));
        }
        finally
        {
            Console.SetError(old);
        }
        Assert.That(stderr.ToString().TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), "multi-line messages become one line");
        Assert.That(stderr.ToString(), Does.Contain("something went wrong: detail one; detail two"));
        Assert.That(message, Does.Contain(code == Program.Internal ? $"internal error ({type.Name})" : "something went wrong"));
    }
}
