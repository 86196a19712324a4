using ModelBridge.Costs;
using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Verify.Slimming;

/// <summary>How one graph output of the slimmed model compares with the original's on held-out inputs.</summary>
/// <param name="Output">The output's name.</param>
/// <param name="NormalizedRmsError">‖d‖ / ‖ref − mean‖ over every sample (<see cref="ErrorStatistics.NormalizedRmsError"/>).</param>
/// <param name="RelativeToMax">max|d| / max|ref| over every sample.</param>
/// <param name="MaxAbsError">max|d|.</param>
public sealed record OutputAgreement(string Output, double NormalizedRmsError, double RelativeToMax, double MaxAbsError);

/// <summary>A task measure over the held-out samples.</summary>
/// <param name="Measure">What was measured (<see cref="TaskAgreement.ToString"/>).</param>
/// <param name="Spec">The measure's spec.</param>
/// <param name="Mean">Mean over the samples.</param>
/// <param name="Min">Worst sample.</param>
/// <param name="PerSample">Each sample's value.</param>
public sealed record TaskResult(string Measure, string Spec, double Mean, double Min, IReadOnlyList<double> PerSample);

/// <summary>MACs and parameters of one scope before and after.</summary>
/// <param name="Scope">The scope (the original's, <see cref="NodeScopes"/> at depth 1).</param>
/// <param name="MacsBefore">MACs in the original.</param>
/// <param name="MacsAfter">MACs of the converted nodes that fall in the scope.</param>
public sealed record ScopeMacs(string Scope, long MacsBefore, long MacsAfter);

/// <summary>"Was it worth it": the slimmed model's cost against the original's, and its outputs on held-out inputs.</summary>
public sealed class SlimEvaluation
{
    /// <summary>MACs of the original (with the pinned dims).</summary>
    public required long MacsBefore { get; init; }

    /// <summary>MACs of the converted model.</summary>
    public required long MacsAfter { get; init; }

    /// <summary>Parameters of the original.</summary>
    public required long ParametersBefore { get; init; }

    /// <summary>Parameters of the converted model.</summary>
    public required long ParametersAfter { get; init; }

    /// <summary>MACs by scope, largest first.</summary>
    public required IReadOnlyList<ScopeMacs> Scopes { get; init; }

    /// <summary>Where the held-out samples came from, or null when there were none.</summary>
    public string? HeldOut { get; init; }

    /// <summary>Held-out samples compared.</summary>
    public int Samples { get; init; }

    /// <summary>Per graph output, on the held-out samples.</summary>
    public IReadOnlyList<OutputAgreement> Outputs { get; init; } = [];

    /// <summary>Task measures on the held-out samples.</summary>
    public IReadOnlyList<TaskResult> Tasks { get; init; } = [];

    /// <summary>MacsAfter / MacsBefore.</summary>
    public double MacsFraction => MacsBefore == 0 ? 1 : (double)MacsAfter / MacsBefore;

    /// <summary>
    /// Compares <paramref name="converted"/> (with its tensor map) against <paramref name="original"/>: costs by
    /// scope, and, when <paramref name="heldOut"/> is given, every mapped graph output and each task measure on
    /// those samples (both models in ONNX Runtime).
    /// </summary>
    /// <exception cref="ArgumentException">A task names an output the models do not both have.</exception>
    public static SlimEvaluation Evaluate(Model original, Model converted, ProvenanceMap map, IReadOnlyDictionary<string, long> dims,
        ParityInputs? heldOut = null, IReadOnlyList<TaskAgreement>? tasks = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(converted);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(dims);
        tasks ??= [];
        var shapeOptions = new ShapeInferenceOptions { DimOverrides = dims, Lenient = true };
        CostReport before = CostModel.Compute(original.Graph, ShapeInference.Run(original.Graph, shapeOptions));
        CostReport after = CostModel.Compute(converted.Graph, ShapeInference.Run(converted.Graph, shapeOptions));
        var result = new SlimEvaluation
        {
            MacsBefore = before.TotalMacs,
            MacsAfter = after.TotalMacs,
            ParametersBefore = before.Total.Parameters,
            ParametersAfter = after.Total.Parameters,
            Scopes = ByScope(before, after, original, map),
        };
        if (heldOut is null)
        {
            return result;
        }
        var outputs = converted.Graph.Outputs
            .Select(o => (Converted: o.Name, Origin: map.Get(o.Name)))
            .Where(x => x.Origin is { Original: { } name, Slice: null } && original.Graph.Outputs.Any(v => v.Name == name))
            .Select(x => (x.Converted, Original: x.Origin!.Original!))
            .ToList();
        foreach (TaskAgreement t in tasks)
        {
            if (!outputs.Any(o => o.Original == t.Output))
            {
                throw new ArgumentException($"Task measure '{t}' names output '{t.Output}', which is not an output of both models ({string.Join(", ", outputs.Select(o => o.Original))}).", nameof(tasks));
            }
        }
        IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples = heldOut.Materialize(original);
        var options = new OrtRunnerOptions { LogLevel = OrtLogLevel.Error };
        using var reference = new OrtRunner(original, options);
        using var actual = new OrtRunner(converted, options);
        var stats = outputs.ToDictionary(o => o.Original, _ => new ErrorStatistics(), StringComparer.Ordinal);
        var perTask = tasks.Select(_ => new List<double>()).ToList();
        foreach (IReadOnlyDictionary<string, TensorData> sample in samples)
        {
            cancellationToken.ThrowIfCancellationRequested();
            IReadOnlyDictionary<string, TensorData> r = reference.Run(Only(reference, sample), cancellationToken);
            IReadOnlyDictionary<string, TensorData> a = actual.Run(Only(actual, sample), cancellationToken);
            foreach (var (c, o) in outputs)
            {
                if (DataTypes.IsFloatingPoint(r[o].ElementType))
                {
                    stats[o].Add(TensorViews.AsFloats(r[o]), TensorViews.AsFloats(a[c]));
                }
            }
            for (int t = 0; t < tasks.Count; t++)
            {
                string c = outputs.First(x => x.Original == tasks[t].Output).Converted;
                perTask[t].Add(tasks[t].Measure(r[tasks[t].Output], a[c]));
            }
        }
        return new SlimEvaluation
        {
            MacsBefore = result.MacsBefore,
            MacsAfter = result.MacsAfter,
            ParametersBefore = result.ParametersBefore,
            ParametersAfter = result.ParametersAfter,
            Scopes = result.Scopes,
            HeldOut = heldOut.Description,
            Samples = samples.Count,
            Outputs = [.. stats.Where(s => s.Value.Count > 0).Select(s => new OutputAgreement(s.Key, s.Value.NormalizedRmsError, s.Value.RelativeToMax, s.Value.MaxAbsError))],
            Tasks = [.. tasks.Select((t, i) => new TaskResult(t.ToString(), Spec(t), perTask[i].Count == 0 ? double.NaN : perTask[i].Average(),
                perTask[i].Count == 0 ? double.NaN : perTask[i].Min(), perTask[i]))],
        };
    }

    private static string Spec(TaskAgreement t) => t.Kind == "binary-iou"
        ? FormattableString.Invariant($"binary-iou:{t.Output}:{t.Threshold}")
        : FormattableString.Invariant($"topk-overlap:{t.Output}:{t.K}{(t.Channel is int c ? $":{c}" : "")}");

    private static Dictionary<string, TensorData> Only(OrtRunner runner, IReadOnlyDictionary<string, TensorData> sample) =>
        runner.InputNames.ToDictionary(n => n, n => sample.TryGetValue(n, out TensorData? t) ? t : throw new ArgumentException($"The held-out samples have no tensor for input '{n}'."), StringComparer.Ordinal);

    /// <summary>
    /// MACs per scope of the original, and the converted nodes charged to the same scopes: a node keeps the
    /// scope of the original node its name starts with (rewrites name new nodes <c>{node}/{pass}/{role}</c>),
    /// else of the producer of the original tensor its output stands for.
    /// </summary>
    private static List<ScopeMacs> ByScope(CostReport before, CostReport after, Model original, ProvenanceMap map)
    {
        var scopeOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (NodeCost n in before.Nodes)
        {
            scopeOf.TryAdd(n.Name, before.Scopes.ScopeOf(n.Node, 1));
        }
        var macsBefore = before.Nodes.GroupBy(n => scopeOf[n.Name], StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(n => n.Macs ?? 0), StringComparer.Ordinal);
        var macsAfter = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (NodeCost n in after.Nodes)
        {
            string scope = ScopeFor(n, scopeOf, original, map);
            macsAfter[scope] = macsAfter.GetValueOrDefault(scope) + (n.Macs ?? 0);
        }
        return [.. macsBefore.Keys.Union(macsAfter.Keys)
            .Select(s => new ScopeMacs(s, macsBefore.GetValueOrDefault(s), macsAfter.GetValueOrDefault(s)))
            .OrderByDescending(s => s.MacsBefore).ThenBy(s => s.Scope, StringComparer.Ordinal)];
    }

    private static string ScopeFor(NodeCost n, Dictionary<string, string> scopeOf, Model original, ProvenanceMap map)
    {
        string name = n.Name;
        while (true)
        {
            if (scopeOf.TryGetValue(name, out string? scope))
            {
                return scope;
            }
            int cut = name.LastIndexOf('/');
            if (cut <= 0)
            {
                break;
            }
            name = name[..cut];
        }
        foreach (Value? o in n.Node.Outputs)
        {
            if (o is not null && map.Get(o.Name) is { } origin
                && (origin.Original ?? origin.DerivedFrom.FirstOrDefault()) is { } orig
                && original.Graph.FindValue(orig)?.Producer is { } p && scopeOf.TryGetValue(NodeNaming.NameOf(p), out string? s))
            {
                return s;
            }
        }
        return CostReport.RootScope;
    }
}
