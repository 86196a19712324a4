using System.CommandLine;
using System.Globalization;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Verify;
using ModelBridge.Verify.Reports;

namespace ModelBridge.Cli;

/// <summary>
/// <c>modelbridge verify ORIGINAL CONVERTED [--map MAP] [--inputs DIR | --random N --seed S] [--rule R] [--target T]
/// [--report DIR] [--max-memory 2GB] [--set-dim N=1]</c>: layer-by-layer parity; exit 0 on parity, 4 on a divergence.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var original = new Argument<FileInfo>("original") { Description = "The original ONNX model" };
        var converted = new Argument<FileInfo>("converted") { Description = "The converted ONNX model" };
        var map = new Option<FileInfo>("--map") { Description = "Tensor map (default: CONVERTED's .map.json beside it, else tensors matched by name)" };
        var inputs = new Option<DirectoryInfo>("--inputs") { Description = "A test_data_set_N folder, or a folder holding several (default: those beside ORIGINAL, else one random sample)" };
        var random = new Option<int?>("--random") { Description = "Compare on N seeded random samples instead" };
        var seed = new Option<int>("--seed") { Description = "Seed of the random samples", DefaultValueFactory = _ => 0 };
        var rule = new Option<string>("--rule") { Description = "elementwise | relative-to-max | cosine", DefaultValueFactory = _ => "elementwise" };
        var target = new Option<string>("--target", "-t") { Description = "Built-in target or profile JSON whose tolerance to use" };
        var report = new Option<DirectoryInfo>("--report") { Description = "Write parity.json, parity.md and parity.html into this folder" };
        var maxMemory = new Option<string>("--max-memory") { Description = "Budget for exposed intermediate tensors, e.g. 2GB, 512MB", DefaultValueFactory = _ => "2GB" };
        var setDim = new Option<string[]>("--set-dim") { Description = "Pin a symbolic dimension, e.g. N=1 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("verify", "Compare a converted model with its original, tensor by tensor, in ONNX Runtime")
        {
            original, converted, map, inputs, random, seed, rule, target, report, maxMemory, setDim,
        };
        cmd.SetAction(parse => CliSupport.Run(() =>
        {
            FileInfo originalFile = parse.GetValue(original)!, convertedFile = parse.GetValue(converted)!;
            foreach (FileInfo f in new[] { originalFile, convertedFile })
            {
                if (!f.Exists)
                {
                    throw new FileNotFoundException($"Model '{f.FullName}' does not exist.");
                }
            }
            if (parse.GetValue(inputs) is not null && parse.GetValue(random) is not null)
            {
                throw new ArgumentException("Give either --inputs or --random, not both.");
            }
            Dictionary<string, long> dims = CliSupport.ParseDims(parse.GetValue(setDim));
            using Model originalModel = Model.Load(originalFile.FullName);
            using Model convertedModel = Model.Load(convertedFile.FullName);
            ProvenanceMap tensorMap = LoadMap(parse.GetValue(map), convertedFile.FullName, convertedModel);
            var options = new ParityOptions
            {
                Rule = ParseRule(parse.GetValue(rule)!),
                Target = parse.GetValue(target) is { } t ? TargetProfile.Resolve(t) : null,
                MaxMemoryBytes = ParseSize(parse.GetValue(maxMemory)!),
                Dims = dims,
            };
            ParityInputs samples = parse.GetValue(random) is int n
                ? ParityInputs.Random(n, parse.GetValue(seed), InputDistribution.Image01, dims)
                : parse.GetValue(inputs) is { } dir ? FromDirectory(dir.FullName) : ParityChecker.DefaultInputs(originalModel, options);
            ParityReport result = ParityChecker.Compare(originalModel, convertedModel, tensorMap, samples, options, new StderrProgress());
            return Finish(result, parse.GetValue(report));
        }));
        return cmd;
    }

    /// <summary>Prints the verdict (the first divergence when it fails), writes the reports, returns the exit code.</summary>
    internal static int Finish(ParityReport result, DirectoryInfo? reportDir)
    {
        Console.Error.WriteLine();
        Console.WriteLine(result.Passed ? result.ToString() : ParityAssertion.Describe(result));
        if (reportDir is not null)
        {
            foreach (string path in ParityReportWriter.WriteAll(result, reportDir.FullName))
            {
                Console.WriteLine($"  wrote {path}");
            }
        }
        return result.Passed ? Program.Ok : Program.ParityFailed;
    }

    private static ProvenanceMap LoadMap(FileInfo? map, string convertedPath, Model converted)
    {
        if (map is not null)
        {
            return map.Exists ? ProvenanceMap.FromJson(File.ReadAllText(map.FullName)) : throw new FileNotFoundException($"Tensor map '{map.FullName}' does not exist.");
        }
        string beside = ConvertCommand.MapPathFor(convertedPath);
        return File.Exists(beside) ? ProvenanceMap.FromJson(File.ReadAllText(beside)) : ProvenanceMap.Identity(converted.Graph);
    }

    private static ParityInputs FromDirectory(string dir)
    {
        if (!Directory.Exists(dir))
        {
            throw new FileNotFoundException($"Input folder '{dir}' does not exist.");
        }
        IReadOnlyList<string> folders = TestDataSet.FindFolders(dir);
        return ParityInputs.FromTestData(folders.Count > 0 ? folders : [dir]);
    }

    internal static ParityRule ParseRule(string text) => text switch
    {
        "elementwise" => ParityRule.Elementwise,
        "relative-to-max" => ParityRule.RelativeToMax,
        "cosine" => ParityRule.Cosine,
        _ => throw new ArgumentException($"--rule expects elementwise, relative-to-max or cosine, got '{text}'."),
    };

    /// <summary>Parses <c>2GB</c>, <c>512MB</c>, <c>1.5GiB</c>, <c>64K</c> or a plain byte count (units are powers of 1024).</summary>
    internal static long ParseSize(string text)
    {
        string t = text.Trim().ToUpperInvariant();
        (string Suffix, long Scale)[] units = [("GIB", 1L << 30), ("MIB", 1L << 20), ("KIB", 1L << 10), ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10), ("B", 1)];
        foreach (var (suffix, scale) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0)
            {
                return (long)(v * scale);
            }
        }
        return long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long bytes) && bytes > 0
            ? bytes
            : throw new ArgumentException($"--max-memory expects a size such as 2GB or 512MB, got '{text}'.");
    }

    /// <summary>One progress line on stderr, rewritten in place on a terminal.</summary>
    internal sealed class StderrProgress : IProgress<ParityProgress>
    {
        private string _phase = string.Empty;

        public void Report(ParityProgress value)
        {
            if (!Console.IsErrorRedirected)
            {
                string line = $"[{value.Phase} {value.Completed}/{value.Total}] {value.Detail}";
                Console.Error.Write("\r" + (line.Length > 100 ? line[..100] : line.PadRight(100)));
                return;
            }
            if (value.Phase != _phase || value.Completed == value.Total)
            {
                Console.Error.WriteLine($"[{value.Phase} {value.Completed}/{value.Total}]");
                _phase = value.Phase;
            }
        }
    }
}
