using ModelBridge.Ir;
using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Surgery;

/// <summary>
/// Turns <see cref="OutputSurgeryOptions"/> into the ordered output-surgery passes:
/// <see cref="PruneOutputs"/>, <see cref="SliceHeadChannels"/>, <see cref="RenameOutputs"/>,
/// <see cref="CanonicalizeValueNames"/> (only those the options ask for).
/// </summary>
/// <remarks>
/// The options are checked against the graph the passes will run on before any pass runs, so a
/// misspelt output name or an out-of-range class id fails up front with the valid choices. The
/// head geometry (anchors, classes) is resolved here, once, from the unsliced graph. The passes
/// can be appended to a canonicalisation pipeline; they contain no dead-code pass of their own,
/// so <see cref="Pipelines.CanonicalPasses"/> can be combined with them without duplicate ids.
/// </remarks>
public static class OutputSurgery
{
    /// <summary>The passes for <paramref name="options"/>, checked against <paramref name="graph"/>.</summary>
    /// <param name="options">What to do.</param>
    /// <param name="graph">The graph the passes will run on (before surgery).</param>
    /// <param name="provenance">Its tensor map, when it has been rewritten already (names are then also matched as original names).</param>
    /// <exception cref="ArgumentException">The options name outputs, levels, kinds or ids the graph does not have.</exception>
    /// <exception cref="Errors.UnsupportedOperatorException">Slicing was asked for and the heads' channels do not split into anchors × values.</exception>
    public static IReadOnlyList<Pass> Passes(OutputSurgeryOptions options, Graph graph, ProvenanceMap? provenance = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(graph);
        DetectorHeads heads = options.Heads;
        var outputNames = graph.Outputs.SelectMany(o => new[] { o.Name, DetectorHeads.OriginalName(o, provenance) }).ToHashSet(StringComparer.Ordinal);
        var inputNames = graph.Inputs.SelectMany(v => new[] { v.Name, DetectorHeads.OriginalName(v, provenance) }).ToHashSet(StringComparer.Ordinal);
        var found = graph.Outputs.Select(o => heads.Recognize(o, provenance)).OfType<HeadOutput>().ToList();
        string available = string.Join(", ", graph.Outputs.Select(o => o.Name));

        foreach (string name in options.DropOutputs.Where(n => !outputNames.Contains(n)))
        {
            throw new ArgumentException($"Cannot drop '{name}': graph '{graph.Name}' has no such output (outputs: {available}).", nameof(options));
        }
        foreach (int level in options.DropLevels.Where(l => !found.Any(h => h.Level == l)))
        {
            string levels = string.Join(", ", found.Select(h => $"P{h.Level}").Distinct());
            throw new ArgumentException($"Cannot drop level P{level}: no head output of that level (levels: {(levels.Length == 0 ? "none" : levels)}).", nameof(options));
        }
        foreach (string key in options.RenameMap?.Keys.Where(k => !outputNames.Contains(k) && !inputNames.Contains(k)) ?? [])
        {
            throw new ArgumentException($"Cannot rename '{key}': graph '{graph.Name}' has no such input or output (outputs: {available}).", nameof(options));
        }
        foreach (string entry in options.Order.Where(e => !outputNames.Contains(e) && !found.Any(h => string.Equals(h.Kind, e, StringComparison.OrdinalIgnoreCase))))
        {
            throw new ArgumentException($"Cannot order by '{entry}': it is neither an output nor a head kind (outputs: {available}).", nameof(options));
        }

        var passes = new List<Pass>();
        if (options.DropOutputs.Count > 0 || options.DropLevels.Count > 0)
        {
            var prune = new PruneOutputs(options.DropOutputs, options.DropLevels, heads);
            if (prune.Selected(graph, provenance).Count == graph.Outputs.Count)
            {
                throw new ArgumentException($"The options drop every output of graph '{graph.Name}'.", nameof(options));
            }
            passes.Add(prune);
        }
        if (options.KeepClasses is not null || options.KeepAnchors is not null)
        {
            HeadGeometry geometry = heads.ResolveGeometry(graph, provenance);
            passes.Add(new SliceHeadChannels(geometry, options.Layout, options.KeepClasses, options.KeepAnchors, heads));
        }
        if (options.RenamePattern is not null || options.RenameMap is not null || options.InputRenamePattern is not null || options.Order.Count > 0)
        {
            passes.Add(new RenameOutputs(options.RenamePattern, options.RenameMap, options.Order, options.InputRenamePattern, heads));
        }
        if (options.CanonicalizeNames)
        {
            passes.Add(new CanonicalizeValueNames());
        }
        return passes;
    }

    /// <summary>
    /// The value among <paramref name="values"/> that <paramref name="name"/> refers to: the one whose
    /// original name it is, else the one currently called so. Original names win, so a name keeps
    /// referring to the same output after outputs were renamed (even swapped).
    /// </summary>
    internal static Value? Find(IEnumerable<Value> values, string name, ProvenanceMap? provenance)
    {
        Value? current = null;
        foreach (Value v in values)
        {
            if (DetectorHeads.OriginalName(v, provenance) == name)
            {
                return v;
            }
            current ??= v.Name == name ? v : null;
        }
        return current;
    }

    /// <summary>
    /// Runs the surgery passes over <paramref name="model"/> in place (clone it first to keep the
    /// original) and returns the run, whose tensor map points the new outputs at the original ones.
    /// </summary>
    public static PipelineResult Run(Model model, OutputSurgeryOptions options, PipelineOptions? pipelineOptions = null, ProvenanceMap? provenance = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new Pipeline(Passes(options, model.Graph, provenance)).Run(model, pipelineOptions, provenance, cancellationToken);
    }
}
