using System.Globalization;
using ModelBridge.Ir;
using ModelBridge.Onnx;
using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Cli;

/// <summary>What <c>convert</c> writes: the model, its tensor map and manifest, and the summary it prints.</summary>
internal static partial class ConvertCommand
{
    /// <summary><c>out.onnx</c> → <c>out.map.json</c>.</summary>
    public static string MapPathFor(string modelPath) => Path.ChangeExtension(modelPath, null) + ".map.json";

    /// <summary><c>out.onnx</c> → <c>out.slim.json</c> (the slimming report).</summary>
    public static string SlimPathFor(string modelPath) => Path.ChangeExtension(modelPath, null) + ".slim.json";

    /// <summary><c>out.onnx</c> → <c>out.manifest.json</c>.</summary>
    public static string ManifestPathFor(string modelPath) => Path.ChangeExtension(modelPath, null) + ".manifest.json";

    /// <summary>Writes the model, its map and any extra text files together: all complete, or none touched.</summary>
    public static void WriteOutputs(Model converted, ProvenanceMap map, string modelPath, string mapPath, params (string Path, string Text)[] extra)
    {
        byte[] bytes = converted.ToBytes();
        string mapJson = map.ToJson();
        var files = new List<(string, Action<Stream>)>();
        foreach (var (path, text) in extra)
        {
            files.Add((path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); }));
        }
        files.Add((mapPath, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(mapJson); }));
        files.Add((modelPath, s => s.Write(bytes)));
        AtomicFile.WriteAll(files);
    }

    private static object Summary(ConversionResult r, string modelPath, string mapPath) => new
    {
        output = modelPath,
        map = mapPath,
        target = r.Remaining.Target,
        passes = r.Statistics.Select(s => new { id = s.Id, matches = s.Matches, nodesAdded = s.NodesAdded, nodesRemoved = s.NodesRemoved, numerics = s.Numerics.ToString(), ms = s.Elapsed.TotalMilliseconds }),
        nodes = r.Model.Graph.NodeCount,
        notices = Notices(r),
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
        foreach (string notice in Notices(r))
        {
            Console.WriteLine($"  note: {notice}");
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

    /// <summary>What the conversion did to the model's interface or names that a user should know about.</summary>
    private static List<string> Notices(ConversionResult r)
    {
        var notices = new List<string>();
        if (r.Statistics.FirstOrDefault(s => s.Id == "remove-initializer-inputs") is { Matches: > 0 } removed)
        {
            notices.Add($"{removed.Matches} initializer(s) were also listed as graph inputs (the IR < 4 habit); they are constants now and no longer inputs (--keep-initializer-inputs keeps them overridable)");
        }
        if (r.Statistics.FirstOrDefault(s => s.Id == "name-unnamed-nodes") is { Matches: > 0 } named)
        {
            notices.Add($"{named.Matches} unnamed node(s) were named after their first output (Conv_245 and the like)");
        }
        return notices;
    }
}
