using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Surgery;
using ModelBridge.Verify;
using ModelBridge.Verify.Reports;

namespace ModelBridge.Cli;

/// <summary>
/// <c>modelbridge verify ORIGINAL CONVERTED [--map MAP] [--inputs DIR [--preprocess P.json] [--mean M] [--std S] ...] [--random N --seed S] [--rule R] [--target T]
/// [--atol A] [--rtol R] [--cosine F] [--report DIR] [--max-memory 2GB] [--set-dim N=1] [--input-shape X=...] [--json] [--post POST.onnx]</c>:
/// layer-by-layer parity; exit 0 on parity, 4 on a divergence. A conversion split by <c>--split-postprocess</c>
/// is verified as the pair, stitched back by the tensors its manifest names.
/// </summary>
internal static class VerifyCommand
{
    /// <summary>Shown at the end of <c>verify --help</c>.</summary>
    public static readonly string[] Examples =
    [
        "modelbridge verify model.onnx out/model.onnx --target ort-nnapi --report out/report",
        "modelbridge verify model.onnx out/model.onnx --random 4 --seed 1 --atol 1e-4 --rtol 1e-3",
        "modelbridge verify model.onnx out/model.onnx --rule cosine --cosine 0.999 --json",
        "modelbridge verify det.onnx out/det.onnx --inputs photos/ --preprocess preprocess.json --input-shape x=1,3,192,384",
    ];

    public static Command Create()
    {
        var original = new Argument<FileInfo>("original") { Description = "The original ONNX model" };
        var converted = new Argument<FileInfo>("converted") { Description = "The converted ONNX model" };
        var map = new Option<FileInfo>("--map") { Description = "Tensor map (default: CONVERTED's .map.json beside it, else tensors matched by name)" };
        var inputs = new Option<DirectoryInfo>("--inputs") { Description = "A test_data_set_N folder, a folder holding several, or a folder of PNG/JPEG images (see --preprocess) (default: the test data beside ORIGINAL, else one random sample)" };
        var random = new Option<int?>("--random") { Description = "Compare on N seeded random samples instead" };
        var seed = new Option<int>("--seed") { Description = "Seed of the random samples", DefaultValueFactory = _ => 0 };
        var rule = new Option<string>("--rule") { Description = "elementwise | relative-to-max | cosine", DefaultValueFactory = _ => "elementwise" };
        rule.CompletionSources.Add("elementwise", "relative-to-max", "cosine");
        var target = CliOptions.Target(required: false, "Target whose base tolerance to use");
        var tolerance = new CliOptions.ToleranceOptions();
        var report = new Option<DirectoryInfo>("--report") { Description = "Write parity.json, parity.md and parity.html into this folder" };
        var maxMemory = new Option<string>("--max-memory") { Description = "Budget for exposed intermediate tensors, e.g. 2GB, 512MB", DefaultValueFactory = _ => "2GB" };
        var setDim = CliOptions.SetDim();
        var inputShape = CliOptions.InputShape();
        var json = CliOptions.Json("the report summary");
        var post = new Option<FileInfo?>("--post") { Description = "Post-processing model cut off by convert --split-postprocess (default: the one CONVERTED's manifest names)", HelpName = "POST.onnx" };
        var cmd = new Command("verify", "Compare a converted model with its original, tensor by tensor, in ONNX Runtime")
        {
            original, converted, map, inputs, random, seed, rule, target, report, maxMemory, setDim, inputShape, json, post,
        };
        tolerance.AddTo(cmd);
        var images = new ImageInputOptions();
        images.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            if (parse.GetValue(inputs) is not null && parse.GetValue(random) is not null)
            {
                throw CliException.Usage("give either --inputs or --random, not both.");
            }
            if (parse.GetValue(random) is < 1)
            {
                throw CliException.Usage($"--random expects a number of samples >= 1, got {parse.GetValue(random)}.");
            }
            FileInfo originalFile = parse.GetValue(original)!, convertedFile = parse.GetValue(converted)!;
            using Model originalModel = CliSupport.LoadModel(originalFile, "original model");
            using Model convertedModel = CliSupport.LoadModel(convertedFile, "converted model");
            Dictionary<string, long> dims = DimPins.Resolve(parse.GetValue(setDim), parse.GetValue(inputShape), originalModel.Graph, convertedModel.Graph);
            ProvenanceMap tensorMap = LoadMap(parse.GetValue(map), convertedFile.FullName, convertedModel);
            OutputManifest? manifest = ReadManifest(convertedFile);
            var options = new ParityOptions
            {
                Rule = ParseRule(parse.GetValue(rule)!),
                Target = parse.GetValue(target) is { } t ? CliOptions.ResolveTarget(t) : TargetFromManifest(manifest, convertedFile, parse.GetValue(json)),
                MaxMemoryBytes = ParseSize(parse.GetValue(maxMemory)!),
                Dims = dims,
            };
            options = tolerance.Apply(parse, options);
            if (images.AnyGiven(parse) && parse.GetValue(inputs) is null)
            {
                throw CliException.Usage("--preprocess, --channel-order, --scale, --mean, --std and --resize describe images given with --inputs DIR.");
            }
            ParityInputs samples = parse.GetValue(inputs) is { } dir
                ? images.Samples(parse, dir, "--inputs", originalModel, dims)
                : Inputs(originalModel, parse.GetValue(random), parse.GetValue(seed), dims);
            (FileInfo PostFile, OutputManifest? Manifest)? pair = PostModel(parse.GetValue(post), convertedFile, manifest);
            ParityReport result;
            if (pair is { } p)
            {
                // A split conversion: the two files are joined back by the tensors they pass, then compared as one.
                using Model postModel = CliSupport.LoadModel(p.PostFile, "post-processing model");
                using Model stitched = Stitch(convertedModel, postModel, p.Manifest);
                result = ParityChecker.Compare(originalModel, stitched, tensorMap, samples, options, new StderrProgress());
                string[] cut = [.. postModel.Graph.Inputs.Where(i => i.Initializer is null && convertedModel.Graph.Outputs.Any(o => o.Name == i.Name)).Select(i => i.Name)];
                result = new ParityReport(result.Tensors, result.Skipped, result.Info with { RewrittenModel = StitchedName(convertedFile.Name, p.PostFile.Name, cut) });
                CliSupport.Text(parse.GetValue(json)).WriteLine($"verify: {result.Info.RewrittenModel} against {originalFile.Name}");
            }
            else
            {
                result = ParityChecker.Compare(originalModel, convertedModel, tensorMap, samples, options, new StderrProgress());
            }
            if (originalFile.Name == convertedFile.Name && pair is null)
            {
                // a/model.onnx against b/model.onnx: the file names alone would not tell them apart.
                result = new ParityReport(result.Tensors, result.Skipped, result.Info with
                {
                    OriginalModel = Path.GetRelativePath(Environment.CurrentDirectory, originalFile.FullName),
                    RewrittenModel = Path.GetRelativePath(Environment.CurrentDirectory, convertedFile.FullName),
                });
            }
            bool asJson = parse.GetValue(json);
            IReadOnlyList<string> written = Finish(result, parse.GetValue(report), asJson);
            if (asJson)
            {
                JsonNode summary = SummaryNode(result, written);
                Console.Out.WriteLine(summary.ToJsonString(CliSupport.Json));
            }
            return result.Passed ? Program.Ok : Program.ParityFailed;
        });
        return cmd;
    }

    /// <summary>The manifest convert wrote beside CONVERTED, or null when there is none or it is not a ModelBridge manifest.</summary>
    private static OutputManifest? ReadManifest(FileInfo converted)
    {
        string path = ConvertCommand.ManifestPathFor(converted.FullName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return OutputManifest.FromJson(File.ReadAllText(path));
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The target CONVERTED was converted for, read from the manifest <c>convert</c> wrote beside it (a built-in
    /// profile by name, a custom one from its file while it still exists), so its tolerance applies; null when
    /// there is no manifest or it names no target.
    /// </summary>
    private static TargetProfile? TargetFromManifest(OutputManifest? manifest, FileInfo converted, bool json)
    {
        if (manifest is null)
        {
            return null;
        }
        bool builtIn = manifest.TargetOrigin is null || manifest.TargetOrigin.StartsWith("built-in:", StringComparison.Ordinal);
        TargetProfile? profile = manifest.Target switch
        {
            null => null,
            var name when builtIn && TargetProfile.BuiltInNames.Contains(name) => TargetProfile.BuiltIn(name),
            _ when !builtIn && File.Exists(manifest.TargetOrigin) => TargetProfile.Load(manifest.TargetOrigin!),
            _ => null,
        };
        if (profile is not null)
        {
            CliSupport.Text(json).WriteLine($"verify: judging at {profile.Name}'s tolerance, the target {Path.GetFileName(ConvertCommand.ManifestPathFor(converted.FullName))} names (--target overrides)");
        }
        return profile;
    }

    /// <summary>
    /// Prints the verdict (the first divergence when it fails) as text, on stderr under <c>--json</c>,
    /// and writes the reports; returns the paths written.
    /// </summary>
    internal static IReadOnlyList<string> Finish(ParityReport result, DirectoryInfo? reportDir, bool json)
    {
        TextWriter text = CliSupport.Text(json);
        Console.Error.WriteLine();
        text.WriteLine(result.Passed ? result.ToString() : ParityAssertion.Describe(result));
        if (reportDir is null)
        {
            return [];
        }
        IReadOnlyList<string> written = [];
        CliSupport.Writing(reportDir.FullName, () => written = ParityReportWriter.WriteAll(result, reportDir.FullName));
        foreach (string path in written)
        {
            text.WriteLine($"  wrote {path}");
        }
        return written;
    }

    /// <summary>The report's summary JSON (<c>modelbridge-parity-summary/1</c>) with the report files written.</summary>
    internal static JsonNode SummaryNode(ParityReport result, IReadOnlyList<string> written)
    {
        JsonNode node = JsonNode.Parse(ParityReportWriter.ToSummaryJson(result))!;
        node["reports"] = new JsonArray([.. written.Select(p => (JsonNode?)JsonValue.Create(p))]);
        return node;
    }

    /// <summary>
    /// The samples when no <c>--inputs</c> are given: <c>--random</c>, else the test-data folders beside the
    /// original, else one random sample. Random inputs are generated once up front so that a model whose inputs
    /// cannot be generated is refused with advice rather than failing mid-check.
    /// </summary>
    internal static ParityInputs Inputs(Model original, int? random, int seed, IReadOnlyDictionary<string, long> dims)
    {
        if (random is null && original.SourcePath is { } path
            && TestDataSet.FindFolders(Path.GetDirectoryName(Path.GetFullPath(path))!) is { Count: > 0 } folders)
        {
            return ParityInputs.FromTestData(folders);
        }
        ParityInputs samples = ParityInputs.Random(random ?? 1, seed, InputDistribution.Image01, dims);
        try
        {
            _ = samples.Materialize(original);
        }
        catch (InvalidOperationException ex)
        {
            throw CliException.Usage($"cannot generate random inputs: {ex.Message} Give --inputs DIR, or pin the input's dimensions with --set-dim/--input-shape.", ex);
        }
        return samples;
    }

    /// <summary>How a report names a split pair: <c>out.onnx + out.post.onnx (stitched at 'a', 'b')</c>.</summary>
    internal static string StitchedName(string main, string post, IEnumerable<string> cut) =>
        $"{main} + {post} (stitched at {string.Join(", ", cut.Select(c => $"'{c}'"))})";

    /// <summary>
    /// The post-processing model to stitch to CONVERTED: <c>--post</c>, else the one named by the
    /// manifest beside CONVERTED (written by <c>convert --split-postprocess</c>), else none.
    /// </summary>
    private static (FileInfo PostFile, OutputManifest? Manifest)? PostModel(FileInfo? post, FileInfo converted, OutputManifest? manifest)
    {
        if (post is not null)
        {
            return (post, manifest?.Postprocess is null ? null : manifest);
        }
        if (manifest?.Postprocess is { } section)
        {
            string path = Path.Combine(converted.DirectoryName ?? ".", section.Model);
            if (!File.Exists(path))
            {
                throw CliException.Usage($"the manifest beside CONVERTED names the post-processing model '{path}', which does not exist (give --post).");
            }
            return (new FileInfo(path), manifest);
        }
        return null;
    }

    private static Model Stitch(Model main, Model post, OutputManifest? manifest)
    {
        try
        {
            return PostprocessSplit.Stitch(main, post, manifest?.Outputs.Select(o => o.Name).ToList());
        }
        catch (ArgumentException ex)
        {
            throw CliException.Usage($"--post: the models are not a split pair: {ex.Message}", ex);
        }
    }

    private static ProvenanceMap LoadMap(FileInfo? map, string convertedPath, Model converted)
    {
        string? path = map?.FullName;
        if (map is not null && !map.Exists)
        {
            throw CliException.Usage($"--map: tensor map '{map.FullName}' does not exist.");
        }
        path ??= File.Exists(ConvertCommand.MapPathFor(convertedPath)) ? ConvertCommand.MapPathFor(convertedPath) : null;
        if (path is null)
        {
            return ProvenanceMap.Identity(converted.Graph);
        }
        try
        {
            return ProvenanceMap.FromJson(File.ReadAllText(path));
        }
        catch (Exception ex) when (ex is FormatException or JsonException or KeyNotFoundException)
        {
            string what = map is null ? "the tensor map beside CONVERTED" : "--map";
            throw CliException.Usage($"{what} '{path}' is not a ModelBridge tensor map ({ex.Message}); give the .map.json that convert wrote.", ex);
        }
    }

    internal static ParityRule ParseRule(string text) => text switch
    {
        "elementwise" => ParityRule.Elementwise,
        "relative-to-max" => ParityRule.RelativeToMax,
        "cosine" => ParityRule.Cosine,
        _ => throw CliException.Usage($"--rule expects elementwise, relative-to-max or cosine, got '{text}'{Suggest.DidYouMean(text, ["elementwise", "relative-to-max", "cosine"])}"),
    };

    /// <summary>Parses <c>2GB</c>, <c>512MB</c>, <c>1.5GiB</c>, <c>64K</c> or a plain byte count (units are powers of 1024); at least 1 MiB.</summary>
    internal static long ParseSize(string text)
    {
        string t = text.Trim().ToUpperInvariant();
        (string Suffix, long Scale)[] units = [("GIB", 1L << 30), ("MIB", 1L << 20), ("KIB", 1L << 10), ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10), ("G", 1L << 30), ("M", 1L << 20), ("K", 1L << 10), ("B", 1)];
        long? size = null;
        foreach (var (suffix, scale) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 && v * scale < long.MaxValue)
            {
                size = (long)(v * scale);
                break;
            }
        }
        if (size is null && long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out long bytes) && bytes > 0)
        {
            size = bytes;
        }
        return size switch
        {
            null => throw CliException.Usage($"--max-memory expects a size such as 2GB or 512MB, got '{text}'."),
            < 1L << 20 => throw CliException.Usage($"--max-memory must be at least 1MB, got '{text}'."),
            long s => s,
        };
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
