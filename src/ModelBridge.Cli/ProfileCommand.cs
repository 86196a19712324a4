using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ModelBridge.Costs;
using ModelBridge.Ir;
using ModelBridge.Shapes;

namespace ModelBridge.Cli;

/// <summary><c>modelbridge profile MODEL [--by scope|op|node] [--depth D] [--json] [--set-dim N=1]</c>.</summary>
internal static class ProfileCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "ONNX model file" };
        var by = new Option<CostGrouping>("--by") { Description = "Group costs by scope, op or node", DefaultValueFactory = _ => CostGrouping.Scope };
        var depth = new Option<int>("--depth") { Description = "Scope depth (path segments of node names)", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print the costs as JSON" };
        var setDim = new Option<string[]>("--set-dim") { Description = "Pin a symbolic dimension, e.g. N=1 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("profile", "Estimate MACs, parameters and activation bytes per scope, op type or node") { model, by, depth, json, setDim };
        cmd.SetAction(parse => CliSupport.Run(() =>
        {
            int d = parse.GetValue(depth);
            if (d < 1)
            {
                throw new ArgumentException($"--depth must be at least 1, got {d}.");
            }
            FileInfo file = parse.GetValue(model)!;
            using Model m = Model.Load(file.FullName);
            ShapeInferenceResult shapes = Prepare(m, CliSupport.ParseDims(parse.GetValue(setDim)));
            CostReport report = CostModel.Compute(m.Graph, shapes);
            CostGrouping grouping = parse.GetValue(by);
            IReadOnlyList<CostGroup> groups = report.Group(grouping, d);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { total = report.Total, by = grouping, depth = d, groups }, CliSupport.Json));
            }
            else
            {
                Print(file.Name, report, grouping, groups);
            }
            return Program.Ok;
        }));
        return cmd;
    }

    /// <summary>The shape facts that <c>check</c> and <c>profile</c> read: inferred with <paramref name="dims"/> pinned.</summary>
    public static ShapeInferenceResult Prepare(Model model, IReadOnlyDictionary<string, long> dims)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(dims);
        return ShapeInference.Run(model.Graph, new ShapeInferenceOptions { DimOverrides = dims });
    }

    private static void Print(string name, CostReport report, CostGrouping by, IReadOnlyList<CostGroup> groups)
    {
        CostGroup t = report.Total;
        Console.WriteLine($"{name}: {CliSupport.N(t.Macs)} MACs, {CliSupport.N(t.Ops)} other ops, {CliSupport.N(t.Parameters)} parameters, {CliSupport.Bytes(t.ActivationBytes)} activations, {report.Nodes.Count} nodes");
        if (t.NodesWithUnknownCost > 0)
        {
            Console.WriteLine($"  warning: {t.NodesWithUnknownCost} node(s) have unknown shapes; their MACs/ops/bytes are left out (shape inference could not tell)");
        }
        string header = by switch { CostGrouping.Scope => "scope", CostGrouping.Op => "op", _ => "node" };
        Console.WriteLine($"  {header,-40} {"nodes",6} {"MACs",16} {"MAC %",6} {"ops",14} {"params",12} {"activations",12}");
        foreach (CostGroup g in groups)
        {
            string share = t.Macs == 0 ? "-" : (100.0 * g.Macs / t.Macs).ToString("F1", CultureInfo.InvariantCulture);
            string unknown = g.NodesWithUnknownCost > 0 ? $"  ({g.NodesWithUnknownCost} unknown)" : "";
            Console.WriteLine($"  {Trim(g.Key, 40),-40} {g.NodeCount,6} {CliSupport.N(g.Macs),16} {share,6} {CliSupport.N(g.Ops),14} {CliSupport.N(g.Parameters),12} {CliSupport.Bytes(g.ActivationBytes),12}{unknown}");
        }
    }

    private static string Trim(string s, int width) => s.Length <= width ? s : "…" + s[^(width - 1)..];
}
