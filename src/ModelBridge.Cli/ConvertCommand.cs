using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelBridge.Ir;
using ModelBridge.Onnx;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

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
        var cmd = new Command("convert", "Rewrite a model into a target's op subset; writes OUT.onnx and OUT.map.json")
        {
            model, target, output, setDim, disable, json, force,
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
            var options = new ConvertOptions
            {
                Dims = CliSupport.ParseDims(parse.GetValue(setDim)),
                DisabledPasses = (parse.GetValue(disable) ?? []).ToHashSet(StringComparer.Ordinal),
            };
            using Model original = Model.Load(input.FullName);
            ConversionResult result = ModelConverter.Convert(original, profile, options);
            using Model converted = result.Model;
            string mapPath = MapPathFor(outFile.FullName);
            WriteOutputs(converted, result.TensorMap, outFile.FullName, mapPath);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(Summary(result, outFile.FullName, mapPath), CliSupport.Json));
            }
            else
            {
                Print(input.Name, profile, result, outFile.FullName, mapPath);
            }
            return Program.Ok;
        }));
        return cmd;
    }

    /// <summary><c>out.onnx</c> → <c>out.map.json</c>.</summary>
    public static string MapPathFor(string modelPath) => Path.ChangeExtension(modelPath, null) + ".map.json";

    /// <summary>Writes the model and its map together: both complete, or neither touched.</summary>
    public static void WriteOutputs(Model converted, ProvenanceMap map, string modelPath, string mapPath)
    {
        byte[] bytes = converted.ToBytes();
        string mapJson = map.ToJson();
        AtomicFile.WriteAll(
        [
            (mapPath, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(mapJson); }),
            (modelPath, s => s.Write(bytes)),
        ]);
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
    }
}
