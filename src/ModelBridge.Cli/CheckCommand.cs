using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Shapes;

namespace ModelBridge.Cli;

/// <summary><c>modelbridge check MODEL --target T [--json] [--set-dim N=1]</c>.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "ONNX model file" };
        var target = new Option<string>("--target", "-t")
        {
            Description = $"Built-in target ({string.Join(", ", TargetProfile.BuiltInNames)}) or path to a profile JSON",
            Required = true,
        };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var setDim = new Option<string[]>("--set-dim") { Description = "Pin a symbolic dimension, e.g. N=1 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("check", $"Check every node against a target profile; exit code {Program.Unsupported} when a node is unsupported") { model, target, json, setDim };
        cmd.SetAction(parse => CliSupport.Run(() =>
        {
            TargetProfile profile = TargetProfile.Resolve(parse.GetValue(target)!);
            FileInfo file = parse.GetValue(model)!;
            using Model m = Model.Load(file.FullName);
            ShapeInferenceResult shapes = ProfileCommand.Prepare(m, CliSupport.ParseDims(parse.GetValue(setDim)));
            ProfileReport report = ProfileChecker.Check(m.Graph, profile, shapes);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    target = report.Target,
                    allSupported = report.AllSupported,
                    partition = report.Partition,
                    nodesWithUncheckedConstraints = report.NodesWithUncheckedConstraints,
                    unsupported = report.Unsupported,
                }, CliSupport.Json));
            }
            else
            {
                Print(file.Name, profile, report);
            }
            return report.AllSupported ? Program.Ok : Program.Unsupported;
        }));
        return cmd;
    }

    private static void Print(string name, TargetProfile profile, ProfileReport r)
    {
        PartitionEstimate p = r.Partition;
        string Pct(double x) => (100 * x).ToString("F1", CultureInfo.InvariantCulture) + "%";
        string macs = p.TotalMacs == 0 ? "MAC share unknown" : $"{Pct(p.MacShare)} of {CliSupport.N(p.TotalMacs)} known MACs on target";
        Console.WriteLine($"{name} on {profile.Name}: {p.SupportedNodes}/{p.CheckedNodes} nodes supported ({Pct(p.NodeShare)}), {macs}, {p.Islands} island(s) of supported nodes");
        if (p.NodesWithUnknownMacs > 0)
        {
            Console.WriteLine($"  note: {p.NodesWithUnknownMacs} node(s) have unknown shapes and are left out of the MAC share");
        }
        if (r.NodesWithUncheckedConstraints > 0)
        {
            Console.WriteLine($"  note: {r.NodesWithUncheckedConstraints} node(s) have constraints that need shapes and were not checked (shape inference not run)");
        }
        var unsupported = r.Unsupported;
        if (unsupported.Count == 0)
        {
            Console.WriteLine("  every node is supported");
            return;
        }
        Console.WriteLine($"  unsupported ({unsupported.Count}):");
        foreach (NodeVerdict v in unsupported)
        {
            Console.WriteLine($"    {v.OpType} '{v.Name}'");
            foreach (ConstraintViolation reason in v.Reasons)
            {
                Console.WriteLine($"      - [{reason.Constraint}] {reason.Message}");
            }
            if (v.Note is { } note)
            {
                Console.WriteLine($"      note: {note}");
            }
        }
    }
}
