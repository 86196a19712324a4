using ModelBridge.Ir;
using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Surgery;

/// <summary>
/// Output surgery: checks <see cref="OutputSurgeryOptions"/> against a graph and runs the surgery
/// pipeline (<see cref="Pipeline.ForSurgery"/> builds it).
/// </summary>
public static class OutputSurgery
{
    /// <summary>Checks <paramref name="options"/> against the outputs and inputs of <paramref name="graph"/>.</summary>
    /// <exception cref="ArgumentException">The options name outputs, levels, kinds or ids the graph does not have.</exception>
    internal static void Validate(OutputSurgeryOptions options, Graph graph, ProvenanceMap? provenance)
    {
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
        return Pipeline.ForSurgery(options, model.Graph, provenance).Run(model, pipelineOptions, provenance, cancellationToken);
    }
}
