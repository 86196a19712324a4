using System.Globalization;
using ModelBridge.Ir;
using ModelBridge.Onnx;
using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Surgery;

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

    /// <summary><c>out.onnx</c> → <c>out.post.onnx</c>, the tail cut off by <c>--split-postprocess</c>.</summary>
    public static string PostPathFor(string modelPath) => Path.ChangeExtension(modelPath, null) + ".post.onnx";

    /// <summary>
    /// Writes the model, its map, the post-processing model (when split) and any extra text files
    /// together: all complete, or none touched.
    /// </summary>
    /// <remarks>
    /// The models are streamed into their temporary files (never serialised to one buffer first: for a
    /// 150 MB model that buffer and its growth cost ~570 MB of peak RSS); a failure while writing deletes
    /// the temporaries and leaves every target as it was.
    /// </remarks>
    public static void WriteOutputs(Model converted, ProvenanceMap map, string modelPath, string mapPath, (string Path, Model Model)? post,
        params (string Path, string Text)[] extra)
    {
        string mapJson = map.ToJson();
        var files = new List<(string, Action<Stream>)>();
        foreach (var (path, text) in extra)
        {
            files.Add((path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); }));
        }
        files.Add((mapPath, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(mapJson); }));
        if (post is { Path: var postPath, Model: var postModel })
        {
            files.Add((postPath, s => postModel.Save(s)));
        }
        files.Add((modelPath, s => converted.Save(s)));
        AtomicFile.WriteAll(files);
    }

    /// <summary>What convert reports: the check of the model written for the accelerator, and the split when there is one.</summary>
    private sealed record Outcome(ProfileReport Deployed, PostprocessSplitResult? Split, string ModelPath, string MapPath, string ManifestPath, string? PostPath)
    {
        /// <summary>True when the target has no CPU fallback and the model written for it still has unsupported nodes.</summary>
        public bool Undeployable(TargetProfile profile) => !profile.Fallback.Enabled && !Deployed.AllSupported;
    }

    private static object Summary(ConversionResult r, Outcome o) => new
    {
        output = o.ModelPath,
        map = o.MapPath,
        manifest = o.ManifestPath,
        target = r.Remaining.Target,
        passes = r.Statistics.Select(s => new { id = s.Id, matches = s.Matches, nodesAdded = s.NodesAdded, nodesRemoved = s.NodesRemoved, numerics = s.Numerics.ToString(), ms = s.Elapsed.TotalMilliseconds }),
        nodes = (o.Split?.Main ?? r.Model).Graph.NodeCount,
        notices = Notices(r),
        allSupported = o.Deployed.AllSupported,
        fallsBackToCpu = r.Profile.Fallback.Enabled,
        unsupported = o.Deployed.Unsupported.Select(n => new { name = n.Name, op = n.OpType, reasons = n.Reasons.Select(x => x.ToString()), noExactRewrite = NoRewrite(r, n) }),
        partition = o.Deployed.Partition,
        postprocess = o.Split is { } split ? new { model = o.PostPath, tensors = split.CutTensors, graphInputs = split.PostGraphInputs, nodes = split.TailNodes } : null,
    };

    private static void Print(string name, TargetProfile profile, ConversionResult r, Outcome o)
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
        if (o.Split is { } split)
        {
            Console.WriteLine($"  split: {split.TailNodes.Count} post-processing node(s) moved to {Path.GetFileName(o.PostPath)}, to run on the CPU: {string.Join(", ", split.TailNodes.Take(8))}{(split.TailNodes.Count > 8 ? ", ..." : "")}");
            Console.WriteLine($"  split: tensors passed from {Path.GetFileName(o.ModelPath)} to {Path.GetFileName(o.PostPath)}: {string.Join(", ", split.CutTensors)}");
        }
        if (o.Deployed.AllSupported)
        {
            Console.WriteLine($"  every node{(o.Split is null ? "" : $" of {Path.GetFileName(o.ModelPath)}")} is supported by {profile.Name}");
        }
        else
        {
            Console.WriteLine($"  still unsupported on {profile.Name} ({o.Deployed.Unsupported.Count}):");
            foreach (var n in o.Deployed.Unsupported.Take(30))
            {
                Console.WriteLine($"    {n.OpType} '{n.Name}'");
                foreach (var reason in n.Reasons)
                {
                    Console.WriteLine($"      - {reason}");
                }
                foreach (string why in NoRewrite(r, n))
                {
                    Console.WriteLine($"      no exact rewrite: {why}");
                }
            }
        }
        PartitionText.Print(Console.Out, profile, o.Deployed);
        Console.WriteLine($"  wrote {o.ModelPath}");
        if (o.PostPath is not null)
        {
            Console.WriteLine($"  wrote {o.PostPath}");
        }
        Console.WriteLine($"  wrote {o.MapPath}");
        Console.WriteLine($"  wrote {o.ManifestPath}");
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

    /// <summary>Why the conversion left a refused node as it is: the passes that declined it, or that none rewrites its operator.</summary>
    private static IReadOnlyList<string> NoRewrite(ConversionResult r, NodeVerdict node)
    {
        IReadOnlyList<string> refusals = r.RewriteRefusals(node.Name);
        return refusals.Count > 0 ? refusals : [$"no ModelBridge pass rewrites {node.OpType} into {r.Profile.Name}'s operators"];
    }
}
