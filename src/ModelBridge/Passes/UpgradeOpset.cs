using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Raises the model's default-domain opset import, converting the nodes whose signature changed on
/// the way (the subset of the ONNX version converter that CNN detectors need).
/// <code>
/// Before (opset 11): y = Unsqueeze(x) {axes=[0]}          After (opset 21): y = Unsqueeze(x, [0])
/// </code>
/// </summary>
/// <remarks>
/// Converted, in place: Reduce* <c>axes</c> attribute → input (opset 18; ReduceSum at 13),
/// Squeeze/Unsqueeze and Split <c>axes</c>/<c>split</c> attributes → inputs (13), Split's
/// <c>num_outputs</c> (18), Clip <c>min</c>/<c>max</c> (11), Pad <c>pads</c>/<c>value</c> (11), Slice
/// attributes (10). Refused, with a reason (<see cref="Obstacles"/>): Softmax/LogSoftmax/Hardmax before
/// 13 unless the axis is the last one (the coerce-to-2-D semantics changed), Upsample, Resize before 11,
/// TopK before 10, Dropout before 12, GroupNormalization-18 (per-group scale), BatchNormalization
/// before 9, and any node with subgraphs. Other operators kept their meaning across these versions.
/// Every conversion moves a value from an attribute to an input: numerics exact.
/// <see cref="FuseGroupNorm"/> raises the opset to 21 through <see cref="Apply"/> when it fuses.
/// </remarks>
/// <param name="target">The opset to raise the default domain to.</param>
public sealed class UpgradeOpset(long target) : GraphPass
{
    private static readonly string[] ReduceOps =
        ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"];

    /// <inheritdoc/>
    public override string Id => "upgrade-opset";

    /// <summary>The opset the pass raises the default domain to.</summary>
    public long Target { get; } = target;

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <summary>Why <paramref name="graph"/> cannot be raised to <paramref name="target"/> (empty when it can).</summary>
    public static IReadOnlyList<string> Obstacles(IReadOnlyGraph graph, long target)
    {
        ArgumentNullException.ThrowIfNull(graph);
        long from = graph.OpsetVersion("") ?? target;
        var reasons = new List<string>();
        if (from >= target)
        {
            return reasons;
        }
        foreach (Node n in graph.Nodes.Where(n => n.IsStandardDomain))
        {
            if (n.HasSubgraphs)
            {
                reasons.Add($"{n} has subgraphs, which this upgrade does not convert");
            }
            switch (n.OpType)
            {
                case "Softmax" or "LogSoftmax" or "Hardmax" when from < 13 && target >= 13:
                    int? rank = graph.Shapes.RankOf(n.Input(0));
                    long axis = n.GetInt("axis", 1);
                    if (rank is null || (axis != -1 && axis != rank - 1))
                    {
                        reasons.Add($"{n}: axis {axis} before opset 13 flattens to 2-D; only the last axis keeps its meaning");
                    }
                    break;
                case "Upsample":
                    reasons.Add($"{n}: Upsample was removed in opset 10");
                    break;
                case "Resize" when from < 11:
                case "TopK" when from < 10:
                case "Dropout" when from < 12:
                case "BatchNormalization" when from < 9:
                    reasons.Add($"{n}: converting {n.OpType} from opset {from} is not supported");
                    break;
                case "GroupNormalization" when from < 21:
                    reasons.Add($"{n}: GroupNormalization-18 scales per group, not per channel");
                    break;
            }
        }
        return reasons;
    }

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        long from = rewriter.Graph.OpsetVersion("") ?? Target;
        if (from >= Target || Obstacles(rewriter.View, Target).Count > 0)
        {
            return 0;
        }
        Apply(rewriter, Target);
        return 1;
    }

    /// <summary>
    /// Raises the default-domain opset to <paramref name="target"/> through <paramref name="rewriter"/>;
    /// the caller has checked that <see cref="Obstacles"/> is empty.
    /// </summary>
    internal static void Apply(GraphRewriter rewriter, long target)
    {
        Graph g = rewriter.Graph;
        long from = g.OpsetVersion("") ?? 1;
        if (from >= target)
        {
            return;
        }
        string root = rewriter.RootName;
        foreach (Node n in g.Nodes.Where(n => n.IsStandardDomain).ToList())
        {
            rewriter.RootName = n.Name.Length > 0 ? n.Name : n.OpType;
            Convert(rewriter, n, from, target);
        }
        rewriter.RootName = root;
        rewriter.SetOpsetVersion("", target);
    }

    private static void Convert(GraphRewriter rewriter, Node n, long from, long target)
    {
        string op = n.OpType;
        if ((ReduceOps.Contains(op) && from < 18 && target >= 18) || (op == "ReduceSum" && from < 13 && target >= 13)
            || (op is "Squeeze" or "Unsqueeze" && from < 13 && target >= 13))
        {
            MoveIntsToInput(rewriter, n, "axes", 1);
        }
        if (op == "Split" && from < 13 && target >= 13)
        {
            MoveIntsToInput(rewriter, n, "split", 1);
        }
        if (op == "Split" && target >= 18 && n.Input(1) is null && !n.HasAttribute("num_outputs"))
        {
            rewriter.ModifyInPlace(n, e => e.SetAttribute(Attr.Int("num_outputs", n.Outputs.Count)));
        }
        if (op == "Clip" && from < 11 && target >= 11)
        {
            float min = n.GetFloat("min", float.MinValue), max = n.GetFloat("max", float.MaxValue);
            bool hasMin = n.HasAttribute("min"), hasMax = n.HasAttribute("max");
            Value? minV = hasMin ? rewriter.CreateInitializer("min", Tensor.Create<float>([], [min])) : null;
            Value? maxV = hasMax ? rewriter.CreateInitializer("max", Tensor.Create<float>([], [max])) : null;
            rewriter.ModifyInPlace(n, e =>
            {
                e.RemoveAttribute("min");
                e.RemoveAttribute("max");
                if (minV is not null)
                {
                    e.SetInput(1, minV);
                }
                if (maxV is not null)
                {
                    e.SetInput(2, maxV);
                }
            });
        }
        if (op == "Pad" && from < 11 && target >= 11)
        {
            long[] pads = n.GetInts("pads") ?? [];
            float value = n.GetFloat("value", 0f);
            Value padsV = rewriter.CreateInitializer("pads", Tensor.Create<long>([pads.Length], pads));
            Value valueV = rewriter.CreateInitializer("value", Tensor.Create<float>([], [value]));
            rewriter.ModifyInPlace(n, e =>
            {
                e.RemoveAttribute("pads");
                e.RemoveAttribute("value");
                e.SetInput(1, padsV);
                e.SetInput(2, valueV);
            });
        }
        if (op == "Slice" && from < 10 && target >= 10)
        {
            long[] starts = n.GetInts("starts") ?? [], ends = n.GetInts("ends") ?? [];
            long[]? axes = n.GetInts("axes");
            Value startsV = rewriter.CreateInitializer("starts", Tensor.Create<long>([starts.Length], starts));
            Value endsV = rewriter.CreateInitializer("ends", Tensor.Create<long>([ends.Length], ends));
            Value? axesV = axes is null ? null : rewriter.CreateInitializer("axes", Tensor.Create<long>([axes.Length], axes));
            rewriter.ModifyInPlace(n, e =>
            {
                e.RemoveAttribute("starts");
                e.RemoveAttribute("ends");
                e.RemoveAttribute("axes");
                e.SetInput(1, startsV);
                e.SetInput(2, endsV);
                if (axesV is not null)
                {
                    e.SetInput(3, axesV);
                }
            });
        }
    }

    private static void MoveIntsToInput(GraphRewriter rewriter, Node n, string attribute, int index)
    {
        long[]? values = n.GetInts(attribute);
        if (values is null)
        {
            return;
        }
        Value v = rewriter.CreateInitializer(attribute, Tensor.Create<long>([values.Length], values));
        rewriter.ModifyInPlace(n, e =>
        {
            e.RemoveAttribute(attribute);
            e.SetInput(index, v);
        });
    }
}
