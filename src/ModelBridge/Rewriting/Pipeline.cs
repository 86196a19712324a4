using System.Diagnostics;
using System.Text;
using ModelBridge.Ir;
using ModelBridge.Shapes;

namespace ModelBridge.Rewriting;

/// <summary>What one pass did over a whole pipeline run.</summary>
/// <param name="Id">Pass id.</param>
/// <param name="Matches">Rewrites applied.</param>
/// <param name="NodesAdded">Nodes created.</param>
/// <param name="NodesRemoved">Nodes erased.</param>
/// <param name="Elapsed">Time spent in the pass.</param>
/// <param name="Numerics">The pass's numeric contract.</param>
/// <param name="FailureSamples">Reasons the pattern did not apply, for the first nodes it was tried on.</param>
public sealed record PassStatistics(string Id, int Matches, int NodesAdded, int NodesRemoved, TimeSpan Elapsed,
    NumericContract Numerics, IReadOnlyList<string> FailureSamples)
{
    /// <summary>Nodes changed in place (<see cref="GraphRewriter.ModifyInPlace"/>).</summary>
    public int NodesModified { get; init; }

    /// <summary>What the pass reported about its rewrites, in order (<see cref="GraphRewriter.Note"/>).</summary>
    public IReadOnlyList<PassNote> Notes { get; init; } = [];

    /// <summary>
    /// Why the pass did not apply at each node it was tried on in its last round, by node name: the nodes
    /// it still declines once the pipeline has settled (for a lowering, why no rewrite the target accepts exists).
    /// </summary>
    public IReadOnlyDictionary<string, string> Refusals { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>Options of a pipeline run.</summary>
public sealed record PipelineOptions
{
    /// <summary>Pass ids to skip.</summary>
    public IReadOnlySet<string> Disabled { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>How passes' shape facts are inferred (<see cref="ShapeInferenceOptions.DimOverrides"/> pins symbols such as N = 1).</summary>
    public ShapeInferenceOptions Shapes { get; init; } = ShapeInferenceOptions.Default;

    /// <summary>Rounds over the pass list before giving up on reaching a fixed point.</summary>
    public int MaxRounds { get; init; } = 8;

    /// <summary>
    /// Validate the graph after every pass (acyclic, indices consistent) and check that a pass
    /// that reports no change left the graph's fingerprint alone. On by default in Debug builds.
    /// </summary>
    public bool ValidateAfterEachPass { get; init; } =
#if DEBUG
        true;
#else
        false;
#endif
}

/// <summary>The result of running a pipeline over a graph.</summary>
/// <param name="Provenance">The tensor map from rewritten values to original ones.</param>
/// <param name="Statistics">Per-pass statistics, in pipeline order.</param>
/// <param name="Rounds">Rounds run until nothing changed.</param>
public sealed record PipelineResult(ProvenanceMap Provenance, IReadOnlyList<PassStatistics> Statistics, int Rounds);

/// <summary>
/// An explicit, ordered list of passes run to a fixed point. Passes are registered by hand, not
/// discovered by reflection, so the order is visible and reviewable.
/// </summary>
public sealed partial class Pipeline
{
    /// <summary>Creates a pipeline of the given passes, in order.</summary>
    public Pipeline(IEnumerable<Pass> passes)
    {
        Passes = [.. passes];
        var dup = Passes.GroupBy(p => p.Id).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
        {
            throw new ArgumentException($"Pass '{dup.Key}' is registered twice.", nameof(passes));
        }
    }

    /// <summary>The passes, in order.</summary>
    public IReadOnlyList<Pass> Passes { get; }

    /// <summary>Every operator the enabled passes may create.</summary>
    public IReadOnlySet<string> GeneratedOps(PipelineOptions? options = null) =>
        Passes.Where(p => options?.Disabled.Contains(p.Id) != true).SelectMany(p => p.GeneratedOps).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Runs the passes over <paramref name="model"/>'s graph in place until a whole round changes
    /// nothing. The caller owns the model (clone it first to keep the original).
    /// </summary>
    /// <exception cref="Errors.InvalidModelException">With <see cref="PipelineOptions.ValidateAfterEachPass"/>, the input graph is malformed.</exception>
    public PipelineResult Run(Model model, PipelineOptions? options = null, ProvenanceMap? provenance = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new PipelineOptions();
        Graph graph = model.Graph;
        if (options.ValidateAfterEachPass)
        {
            // A problem already in the input is the model's, not the first pass's.
            graph.Validate();
        }
        provenance ??= ProvenanceMap.Identity(graph);
        var rewriter = new GraphRewriter(graph, provenance, options.Shapes);
        var stats = Passes.ToDictionary(p => p.Id, p => (Matches: 0, Added: 0, Removed: 0, Time: TimeSpan.Zero, Failures: new List<string>()));
        var modified = Passes.ToDictionary(p => p.Id, _ => 0);
        var notes = Passes.ToDictionary(p => p.Id, _ => new List<PassNote>());
        var refusals = Passes.ToDictionary(p => p.Id, _ => new Dictionary<string, string>(StringComparer.Ordinal));
        int rounds = 0;
        bool changed = true;
        while (changed && rounds < options.MaxRounds)
        {
            changed = false;
            rounds++;
            foreach (Pass pass in Passes)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (options.Disabled.Contains(pass.Id))
                {
                    continue;
                }
                string? before = options.ValidateAfterEachPass ? Fingerprint(model) : null;
                rewriter.PassId = pass.Id;
                rewriter.RefreshShapes();
                rewriter.Contract = pass.Numerics;
                rewriter.NodesAdded = 0;
                rewriter.NodesRemoved = 0;
                rewriter.NodesModified = 0;
                rewriter.Notes = notes[pass.Id];
                rewriter.Refusals = new Dictionary<string, string>(StringComparer.Ordinal);
                rewriter.DeclaredOps = pass.GeneratedOps;
                var failures = new List<string>();
                long start = Stopwatch.GetTimestamp();
                int matches = pass.Apply(rewriter, failures, cancellationToken);
                TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
                var s = stats[pass.Id];
                stats[pass.Id] = (s.Matches + matches, s.Added + rewriter.NodesAdded, s.Removed + rewriter.NodesRemoved, s.Time + elapsed,
                    rounds == 1 ? failures : s.Failures);
                modified[pass.Id] += rewriter.NodesModified;
                refusals[pass.Id] = rewriter.Refusals;
                if (matches > 0)
                {
                    changed = true;
                }
                if (options.ValidateAfterEachPass)
                {
                    Check(model, pass, matches, before!);
                }
            }
        }
        provenance.RestrictTo(graph);
        var list = Passes.Where(p => !options.Disabled.Contains(p.Id))
            .Select(p => new PassStatistics(p.Id, stats[p.Id].Matches, stats[p.Id].Added, stats[p.Id].Removed, stats[p.Id].Time, p.Numerics, stats[p.Id].Failures)
            {
                NodesModified = modified[p.Id],
                Notes = notes[p.Id],
                Refusals = refusals[p.Id],
            })
            .ToList();
        return new PipelineResult(provenance, list, rounds);
    }

    private static void Check(Model model, Pass pass, int matches, string before)
    {
        IReadOnlyList<GraphProblem> problems = model.Graph.FindProblems();
        if (problems.Count > 0)
        {
            throw new UnreachableException($"Pass '{pass.Id}' left an invalid graph: {problems[0].Message}");
        }
        string after = Fingerprint(model);
        if (matches == 0 && after != before)
        {
            throw new UnreachableException($"Pass '{pass.Id}' reported no change but the graph's fingerprint changed.");
        }
    }

    /// <summary>A structural fingerprint: nodes, their wiring and attributes, initializers, inputs and outputs.</summary>
    internal static string Fingerprint(Model model)
    {
        Graph g = model.Graph;
        var sb = new StringBuilder();
        foreach (Node n in g.Nodes)
        {
            sb.Append(n.OpType).Append('|').Append(n.Name).Append('|');
            foreach (Value? v in n.Inputs)
            {
                sb.Append(v?.Name).Append(',');
            }
            sb.Append("->");
            foreach (Value? v in n.Outputs)
            {
                sb.Append(v?.Name).Append(',');
            }
            foreach (var a in n.Attributes)
            {
                sb.Append(a.GetHashCode()).Append(';');
            }
            sb.Append('\n');
        }
        foreach (Value v in g.Initializers)
        {
            sb.Append(v.Name).Append(':').Append(v.Initializer!.GetHashCode()).Append('\n');
        }
        sb.Append(string.Join(",", g.Inputs.Select(v => v.Name))).Append('\n');
        sb.Append(string.Join(",", g.Outputs.Select(v => v.Name))).Append('\n');
        sb.Append(string.Join(",", model.OpsetImports.Select(o => $"{o.Domain}:{o.Version}")));
        return sb.ToString();
    }
}
