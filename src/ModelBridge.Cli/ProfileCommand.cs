using System.CommandLine;
using System.Globalization;
using ModelBridge.Costs;
using ModelBridge.Ir;
using ModelBridge.Shapes;

namespace ModelBridge.Cli;

/// <summary><c>modelbridge profile MODEL [--by scope|op|node] [--depth D] [--json] [--set-dim N=1] [--input-shape X=1,3,H,W]</c>.</summary>
internal static class ProfileCommand
{
    /// <summary>Shown at the end of <c>profile --help</c>.</summary>
    public static readonly string[] Examples =
    [
        "modelbridge profile model.onnx --set-dim N=1",
        "modelbridge profile model.onnx --by op --json",
        "modelbridge profile model.onnx --by scope --depth 2",
    ];

    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "ONNX model file" };
        var by = new Option<string>("--by") { Description = "Group costs by scope, op or node", DefaultValueFactory = _ => "scope" };
        by.CompletionSources.Add("scope", "op", "node");
        var depth = new Option<int>("--depth") { Description = "Scope depth (path segments of node names)", DefaultValueFactory = _ => 1 };
        var json = CliOptions.Json("the costs");
        var setDim = CliOptions.SetDim();
        var inputShape = CliOptions.InputShape();
        var cmd = new Command("profile", "Estimate MACs, parameters and activation bytes per scope, op type or node") { model, by, depth, json, setDim, inputShape };
        cmd.SetAction(parse =>
        {
            int d = parse.GetValue(depth);
            if (d < 1)
            {
                throw CliException.Usage($"--depth must be at least 1, got {d}.");
            }
            CostGrouping grouping = parse.GetValue(by) switch
            {
                "scope" => CostGrouping.Scope,
                "op" => CostGrouping.Op,
                "node" => CostGrouping.Node,
                var other => throw CliException.Usage($"--by expects scope, op or node, got '{other}'{Suggest.DidYouMean(other!, ["scope", "op", "node"])}"),
            };
            FileInfo file = parse.GetValue(model)!;
            using Model m = CliSupport.LoadModel(file);
            ShapeInferenceResult shapes = Prepare(m, DimPins.Resolve(parse.GetValue(setDim), parse.GetValue(inputShape), m.Graph));
            CostReport report = CostModel.Compute(m.Graph, shapes);
            IReadOnlyList<CostGroup> groups = report.Group(grouping, d);
            if (parse.GetValue(json))
            {
                CliSupport.WriteJson(new { total = report.Total, by = grouping, depth = d, groups });
            }
            else
            {
                Print(file.Name, report, grouping, groups);
            }
            return Program.Ok;
        });
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
