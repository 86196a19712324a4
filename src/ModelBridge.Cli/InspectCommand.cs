using System.CommandLine;
using System.Text.Json;
using ModelBridge.Inspection;
using ModelBridge.Ir;
using ModelBridge.Shapes;

namespace ModelBridge.Cli;

/// <summary><c>modelbridge inspect MODEL [--json] [--set-dim N=1] [--input-shape X=1,3,H,W]</c>.</summary>
internal static class InspectCommand
{
    /// <summary>Shown at the end of <c>inspect --help</c>.</summary>
    public static readonly string[] Examples =
    [
        "modelbridge inspect model.onnx",
        "modelbridge inspect model.onnx --set-dim N=1 --json",
        "modelbridge inspect model.onnx --input-shape images=1,3,320,320",
    ];

    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "ONNX model file" };
        var json = CliOptions.Json("the summary");
        var setDim = CliOptions.SetDim();
        var inputShape = CliOptions.InputShape();
        var cmd = new Command("inspect", "Summarise a model: IR/opsets, inputs/outputs, op histogram, parameters, shapes, warnings") { model, json, setDim, inputShape };
        cmd.SetAction(parse =>
        {
            FileInfo file = parse.GetValue(model)!;
            using Model m = CliSupport.LoadModel(file);
            Dictionary<string, long> dims = DimPins.Resolve(parse.GetValue(setDim), parse.GetValue(inputShape), m.Graph);
            ModelSummary summary = Inspector.Summarise(m, dims);
            if (parse.GetValue(json))
            {
                CliSupport.WriteJson(summary);
            }
            else
            {
                Print(file.Name, summary);
            }
            return Program.Ok;
        });
        return cmd;
    }

    private static void Print(string name, ModelSummary s)
    {
        Console.WriteLine($"{name}: IR v{s.IrVersion}, opsets {string.Join(", ", s.Opsets.Select(o => $"{o.Key} {o.Value}"))}, producer '{s.Producer}'");
        Console.WriteLine($"  nodes {s.NodeCount}, parameters {CliSupport.N(s.ParameterCount)} ({CliSupport.Bytes(s.ParameterBytes)})");
        Console.WriteLine("  inputs:");
        foreach (ValueSummary v in s.Inputs)
        {
            Console.WriteLine($"    {v.Name,-24} {v.Type ?? "?"}");
        }
        Console.WriteLine("  outputs:");
        foreach (ValueSummary v in s.Outputs)
        {
            Console.WriteLine($"    {v.Name,-24} {v.Type ?? "?"}");
        }
        Console.WriteLine("  ops:");
        foreach (var (op, count) in s.OpHistogram)
        {
            Console.WriteLine($"    {op,-24} {count,6}");
        }
        Console.WriteLine($"  values with unknown shape: {s.UnknownShapes.Count}{(s.UnknownShapes.Count > 0 ? " (" + string.Join(", ", s.UnknownShapes.Take(8)) + (s.UnknownShapes.Count > 8 ? ", ..." : "") + ")" : "")}");
        foreach (string w in s.Warnings)
        {
            Console.WriteLine($"  warning: {w}");
        }
    }
}

/// <summary>Runs shape inference (with pinned dims) and summarises.</summary>
internal static class Inspector
{
    public static ModelSummary Summarise(Model m, IReadOnlyDictionary<string, long> dims)
    {
        ShapeInferenceResult shapes = ShapeInference.Run(m.Graph, new ShapeInferenceOptions { DimOverrides = dims });
        ModelSummary summary = ModelSummary.Create(m, shapes);
        return summary with
        {
            UnknownShapes = [.. shapes.UnknownShapes.Select(v => v.Name)],
            Warnings = [.. summary.Warnings, .. shapes.Warnings],
        };
    }
}
