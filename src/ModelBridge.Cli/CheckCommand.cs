using System.CommandLine;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Shapes;

namespace ModelBridge.Cli;

/// <summary><c>modelbridge check MODEL --target T [--json] [--set-dim N=1] [--input-shape X=1,3,H,W]</c>.</summary>
internal static class CheckCommand
{
    /// <summary>Shown at the end of <c>check --help</c>.</summary>
    public static readonly string[] Examples =
    [
        "modelbridge check model.onnx --target tflite-builtins",
        "modelbridge check model.onnx --target ./my-npu.json --set-dim N=1 --json",
    ];

    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "ONNX model file" };
        var target = CliOptions.Target(required: true, "Target to check against");
        var json = CliOptions.Json("the report");
        var setDim = CliOptions.SetDim();
        var inputShape = CliOptions.InputShape();
        var cmd = new Command("check", $"Check every node against a target profile; exit code {Program.Unsupported} when a node is unsupported")
        {
            model, target, json, setDim, inputShape,
        };
        cmd.SetAction(parse =>
        {
            TargetProfile profile = CliOptions.ResolveTarget(parse.GetValue(target)!);
            FileInfo file = parse.GetValue(model)!;
            using Model m = CliSupport.LoadModel(file);
            ShapeInferenceResult shapes = ProfileCommand.Prepare(m, DimPins.Resolve(parse.GetValue(setDim), parse.GetValue(inputShape), m.Graph));
            ProfileReport report = ProfileChecker.Check(m.Graph, profile, shapes);
            if (parse.GetValue(json))
            {
                CliSupport.WriteJson(new
                {
                    target = report.Target,
                    allSupported = report.AllSupported,
                    partition = report.Partition,
                    nodesWithUncheckedConstraints = report.NodesWithUncheckedConstraints,
                    unsupported = report.Unsupported,
                });
            }
            else
            {
                Print(file.Name, profile, report);
            }
            return report.AllSupported ? Program.Ok : Program.Unsupported;
        });
        return cmd;
    }

    private static void Print(string name, TargetProfile profile, ProfileReport r)
    {
        PartitionEstimate p = r.Partition;
        Console.WriteLine($"{name} on {profile.Name}: {p.SupportedNodes}/{p.CheckedNodes} nodes supported ({PartitionText.Pct((double)p.SupportedNodes / Math.Max(1, p.CheckedNodes))})");
        PartitionText.Print(Console.Out, profile, r);
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
