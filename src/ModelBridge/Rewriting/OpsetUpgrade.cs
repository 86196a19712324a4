using ModelBridge.Ir;

namespace ModelBridge.Rewriting;

/// <summary>
/// Raises a model's default-domain opset import, converting the nodes whose signature changed on
/// the way (the subset of the ONNX version converter that CNN detectors need).
/// </summary>
/// <remarks>
/// Converted: Reduce* <c>axes</c> attribute → input (opset 18; ReduceSum at 13), Squeeze/Unsqueeze
/// and Split <c>axes</c>/<c>split</c> attributes → inputs (13), Split's <c>num_outputs</c> (18),
/// Clip <c>min</c>/<c>max</c> (11), Pad <c>pads</c>/<c>value</c> (11), Slice attributes (10).
/// Refused, with a reason: Softmax/LogSoftmax/Hardmax before 13 unless the axis is the last one
/// (the coerce-to-2-D semantics changed), Upsample, Resize before 11, TopK before 10, Dropout
/// before 12, GroupNormalization-18 (per-group scale), BatchNormalization before 9, and any
/// node with subgraphs. Other operators kept their meaning across these versions.
/// </remarks>
public static class OpsetUpgrade
{
    private static readonly string[] ReduceOps =
        ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"];

    /// <summary>Why the graph cannot be raised to <paramref name="target"/> (empty when it can).</summary>
    public static IReadOnlyList<string> Obstacles(Graph graph, long target)
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
                    int? rank = n.Input(0)?.Type?.Shape?.Rank;
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

    /// <summary>Raises the default-domain opset to <paramref name="target"/>; throws when <see cref="Obstacles"/> is not empty.</summary>
    public static void Apply(Model model, long target)
    {
        ArgumentNullException.ThrowIfNull(model);
        Graph g = model.Graph;
        long from = g.OpsetVersion("") ?? 1;
        if (from >= target)
        {
            return;
        }
        IReadOnlyList<string> obstacles = Obstacles(g, target);
        if (obstacles.Count > 0)
        {
            throw new InvalidOperationException($"Cannot raise opset {from} to {target}: {obstacles[0]}");
        }
        foreach (Node n in g.Nodes.Where(n => n.IsStandardDomain).ToList())
        {
            Convert(g, n, from, target);
        }
        model.SetOpsetVersion("", target);
    }

    private static void Convert(Graph g, Node n, long from, long target)
    {
        string op = n.OpType;
        if ((ReduceOps.Contains(op) && from < 18 && target >= 18) || (op == "ReduceSum" && from < 13 && target >= 13)
            || (op is "Squeeze" or "Unsqueeze" && from < 13 && target >= 13))
        {
            MoveIntsToInput(g, n, "axes", 1);
        }
        if (op == "Split" && from < 13 && target >= 13)
        {
            MoveIntsToInput(g, n, "split", 1);
        }
        if (op == "Split" && target >= 18 && n.Input(1) is null && !n.HasAttribute("num_outputs"))
        {
            n.SetInt("num_outputs", n.Outputs.Count);
        }
        if (op == "Clip" && from < 11 && target >= 11)
        {
            float min = n.GetFloat("min", float.MinValue), max = n.GetFloat("max", float.MaxValue);
            bool hasMin = n.RemoveAttribute("min"), hasMax = n.RemoveAttribute("max");
            if (hasMin)
            {
                g.SetInput(n, 1, g.AddInitializer($"{n.Name}/min", Tensor.Create<float>([], [min])));
            }
            if (hasMax)
            {
                g.SetInput(n, 2, g.AddInitializer($"{n.Name}/max", Tensor.Create<float>([], [max])));
            }
        }
        if (op == "Pad" && from < 11 && target >= 11)
        {
            long[] pads = n.GetInts("pads") ?? [];
            float value = n.GetFloat("value", 0f);
            n.RemoveAttribute("pads");
            n.RemoveAttribute("value");
            g.SetInput(n, 1, g.AddInitializer($"{n.Name}/pads", Tensor.Create<long>([pads.Length], pads)));
            g.SetInput(n, 2, g.AddInitializer($"{n.Name}/value", Tensor.Create<float>([], [value])));
        }
        if (op == "Slice" && from < 10 && target >= 10)
        {
            long[] starts = n.GetInts("starts") ?? [], ends = n.GetInts("ends") ?? [];
            long[]? axes = n.GetInts("axes");
            n.RemoveAttribute("starts");
            n.RemoveAttribute("ends");
            n.RemoveAttribute("axes");
            g.SetInput(n, 1, g.AddInitializer($"{n.Name}/starts", Tensor.Create<long>([starts.Length], starts)));
            g.SetInput(n, 2, g.AddInitializer($"{n.Name}/ends", Tensor.Create<long>([ends.Length], ends)));
            if (axes is not null)
            {
                g.SetInput(n, 3, g.AddInitializer($"{n.Name}/axes", Tensor.Create<long>([axes.Length], axes)));
            }
        }
    }

    private static void MoveIntsToInput(Graph g, Node n, string attribute, int index)
    {
        long[]? values = n.GetInts(attribute);
        if (values is null)
        {
            return;
        }
        n.RemoveAttribute(attribute);
        g.SetInput(n, index, g.AddInitializer($"{n.Name}/{attribute}", Tensor.Create<long>([values.Length], values)));
    }
}
