using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelBridge.Ir;
using ModelBridge.Onnx;
using ModelBridge.Profiles;
using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Surgery;
using ModelBridge.Verify;

namespace ModelBridge.Cli;

/// <summary>
/// <c>modelbridge convert MODEL --target T -o OUT.onnx [--set-dim N=1] [--disable PASS...] [--json] [--force]</c>:
/// writes OUT.onnx and OUT.map.json, prints a per-pass summary and the nodes still unsupported.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "ONNX model to convert (never modified)" };
        var target = new Option<string>("--target", "-t") { Description = "Built-in target name or a profile JSON file", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the converted model", Required = true };
        var setDim = new Option<string[]>("--set-dim") { Description = "Pin a symbolic dimension, e.g. N=1 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var disable = new Option<string[]>("--disable") { Description = "Pass ids to skip (repeatable)", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print the conversion summary as JSON" };
        var force = new Option<bool>("--force") { Description = "Allow the output path to be the input path" };
        var separable = new Option<string?>("--lower-to-separable") { Description = "Factor standard convs whose node name contains SCOPE (e.g. /fpn/) into depthwise + 1x1" };
        var budget = new Option<double>("--error-budget") { Description = "Relative weight error allowed per factored conv (0 = full rank)" };
        var dropOutputs = new Option<string[]>("--drop-outputs") { Description = "Graph outputs to remove, with everything that only fed them", AllowMultipleArgumentsPerToken = true };
        var dropLevel = new Option<string[]>("--drop-level") { Description = "FPN levels whose head outputs to remove, e.g. P3", AllowMultipleArgumentsPerToken = true };
        var keepClasses = new Option<string?>("--keep-classes") { Description = "Class ids to keep in the class heads, e.g. 0,2,5" };
        var keepAnchors = new Option<string?>("--keep-anchors") { Description = "Anchor ids to keep in the heads, e.g. 0,1,2" };
        var layout = new Option<string>("--layout") { Description = "Head channel layout: anchor-major (RetinaNet/torchvision, default) or class-major", DefaultValueFactory = _ => "anchor-major" };
        var rename = new Option<string?>("--rename-outputs") { Description = "Rename outputs by pattern ({kind}_{level}, output_{index}) or a JSON map file" };
        var order = new Option<string[]>("--order") { Description = "Output order: names or kinds (e.g. cls box)", AllowMultipleArgumentsPerToken = true };
        var canonical = new Option<bool>("--canonicalize-names") { Description = "Give internal values short stable names (t0, t1, ...)" };
        var verify = new Option<bool>("--verify") { Description = "After converting, verify layer by layer in ONNX Runtime (inputs: test_data_set_* beside the model, else one random sample)" };
        var report = new Option<DirectoryInfo?>("--report") { Description = "With --verify: write parity.json, parity.md and parity.html here" };
        var cmd = new Command("convert", "Rewrite a model into a target's op subset; writes OUT.onnx, OUT.map.json and OUT.manifest.json")
        {
            model, target, output, setDim, disable, json, force, separable, budget, dropOutputs, dropLevel, keepClasses, keepAnchors, layout, rename, order, canonical,
            verify, report,
        };
        cmd.SetAction(parse => CliSupport.Run(() =>
        {
            FileInfo input = parse.GetValue(model)!;
            FileInfo outFile = parse.GetValue(output)!;
            if (!input.Exists)
            {
                throw new FileNotFoundException($"Model '{input.FullName}' does not exist.");
            }
            if (string.Equals(Path.GetFullPath(input.FullName), Path.GetFullPath(outFile.FullName), StringComparison.Ordinal) && !parse.GetValue(force))
            {
                throw new ArgumentException($"The output path is the input path '{input.FullName}'; refusing to replace the input (use --force).");
            }
            TargetProfile profile = TargetProfile.Resolve(parse.GetValue(target)!);
            OutputSurgeryOptions surgery = SurgeryOptions(parse, dropOutputs, dropLevel, keepClasses, keepAnchors, layout, rename, order, canonical);
            var options = new ConvertOptions
            {
                Dims = CliSupport.ParseDims(parse.GetValue(setDim)),
                DisabledPasses = (parse.GetValue(disable) ?? []).ToHashSet(StringComparer.Ordinal),
                SeparableScope = parse.GetValue(separable),
                ErrorBudget = parse.GetValue(budget),
                Surgery = surgery,
            };
            using Model original = Model.Load(input.FullName);
            ConversionResult result = ModelConverter.Convert(original, profile, options);
            using Model converted = result.Model;
            string mapPath = MapPathFor(outFile.FullName);
            OutputManifest manifest = OutputManifest.Create(original, converted, result.TensorMap, surgery);
            WriteOutputs(converted, result.TensorMap, outFile.FullName, mapPath, (ManifestPathFor(outFile.FullName), manifest.ToJson()));
            foreach (SeparableReport rep in result.SeparableReports)
            {
                Console.Error.WriteLine($"separable {rep}");
            }
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(Summary(result, outFile.FullName, mapPath), CliSupport.Json));
            }
            else
            {
                Print(input.Name, profile, result, outFile.FullName, mapPath);
            }
            if (!parse.GetValue(verify))
            {
                return Program.Ok;
            }
            ParityReport parity = ParityChecker.VerifyConversion(original, result, new ParityOptions { Dims = options.Dims }, convertOptions: options,
                progress: new VerifyCommand.StderrProgress());
            return VerifyCommand.Finish(parity, parse.GetValue(report));
        }));
        return cmd;
    }

    /// <summary><c>out.onnx</c> → <c>out.map.json</c>.</summary>
    public static string MapPathFor(string modelPath) => Path.ChangeExtension(modelPath, null) + ".map.json";

    /// <summary><c>out.onnx</c> → <c>out.manifest.json</c>.</summary>
    public static string ManifestPathFor(string modelPath) => Path.ChangeExtension(modelPath, null) + ".manifest.json";

    /// <summary>Writes the model, its map and any extra text files together: all complete, or none touched.</summary>
    /// <remarks>
    /// The model is streamed into its temporary file (never serialised to one buffer first: for a 150 MB
    /// model that buffer and its growth cost ~570 MB of peak RSS); a failure while writing deletes the
    /// temporaries and leaves every target as it was.
    /// </remarks>
    public static void WriteOutputs(Model converted, ProvenanceMap map, string modelPath, string mapPath, params (string Path, string Text)[] extra)
    {
        string mapJson = map.ToJson();
        var files = new List<(string, Action<Stream>)>();
        foreach (var (path, text) in extra)
        {
            files.Add((path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); }));
        }
        files.Add((mapPath, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(mapJson); }));
        files.Add((modelPath, s => converted.Save(s)));
        AtomicFile.WriteAll(files);
    }

    private static OutputSurgeryOptions SurgeryOptions(ParseResult parse, Option<string[]> dropOutputs, Option<string[]> dropLevel, Option<string?> keepClasses,
        Option<string?> keepAnchors, Option<string> layout, Option<string?> rename, Option<string[]> order, Option<bool> canonical)
    {
        static int[]? Ids(string? text) => text is null ? null
            : [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(t => int.Parse(t, CultureInfo.InvariantCulture))];
        string? renameArg = parse.GetValue(rename);
        bool renameIsMap = renameArg is not null && renameArg.EndsWith(".json", StringComparison.OrdinalIgnoreCase) && File.Exists(renameArg);
        return new OutputSurgeryOptions
        {
            DropOutputs = parse.GetValue(dropOutputs) ?? [],
            DropLevels = [.. (parse.GetValue(dropLevel) ?? []).Select(OutputSurgeryOptions.ParseLevel)],
            KeepClasses = Ids(parse.GetValue(keepClasses)),
            KeepAnchors = Ids(parse.GetValue(keepAnchors)),
            Layout = parse.GetValue(layout) switch
            {
                "anchor-major" => HeadLayout.AnchorMajor,
                "class-major" => HeadLayout.ClassMajor,
                var other => throw new ArgumentException($"--layout must be anchor-major or class-major, not '{other}'."),
            },
            RenamePattern = renameIsMap ? null : renameArg,
            RenameMap = renameIsMap ? OutputSurgeryOptions.ReadRenameMap(renameArg!) : null,
            Order = parse.GetValue(order) ?? [],
            CanonicalizeNames = parse.GetValue(canonical),
        };
    }

    private static object Summary(ConversionResult r, string modelPath, string mapPath) => new
    {
        output = modelPath,
        map = mapPath,
        target = r.Remaining.Target,
        passes = r.Statistics.Select(s => new { id = s.Id, matches = s.Matches, nodesAdded = s.NodesAdded, nodesRemoved = s.NodesRemoved, numerics = s.Numerics.ToString(), ms = s.Elapsed.TotalMilliseconds }),
        nodes = r.Model.Graph.NodeCount,
        allSupported = r.Remaining.AllSupported,
        unsupported = r.Remaining.Unsupported.Select(n => new { name = n.Name, op = n.OpType, reasons = n.Reasons.Select(x => x.ToString()) }),
    };

    private static void Print(string name, TargetProfile profile, ConversionResult r, string modelPath, string mapPath)
    {
        Console.WriteLine($"{name} → {profile.Name}: {r.Model.Graph.NodeCount} nodes");
        Console.WriteLine($"  {"pass",-36} {"matches",8} {"+nodes",7} {"-nodes",7} {"ms",8}  numerics");
        foreach (PassStatistics s in r.Statistics.Where(s => s.Matches > 0))
        {
            Console.WriteLine($"  {s.Id,-36} {s.Matches,8} {s.NodesAdded,7} {s.NodesRemoved,7} {s.Elapsed.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture),8}  {s.Numerics}");
        }
        if (r.Remaining.AllSupported)
        {
            Console.WriteLine($"  every node is supported by {profile.Name}");
        }
        else
        {
            Console.WriteLine($"  still unsupported on {profile.Name} ({r.Remaining.Unsupported.Count}):");
            foreach (var n in r.Remaining.Unsupported.Take(30))
            {
                Console.WriteLine($"    {n.OpType} '{n.Name}'");
                foreach (var reason in n.Reasons)
                {
                    Console.WriteLine($"      - {reason}");
                }
            }
        }
        Console.WriteLine($"  wrote {modelPath}");
        Console.WriteLine($"  wrote {mapPath}");
        Console.WriteLine($"  wrote {ManifestPathFor(modelPath)}");
    }
}
