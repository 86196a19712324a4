using ModelBridge.Ir;

namespace ModelBridge.Inspection;

/// <summary>A value's name and type, as shown by <c>modelbridge inspect</c>.</summary>
/// <param name="Name">Value name.</param>
/// <param name="Type">Element type and shape (<c>float[N,3,224,224]</c>), or null when unknown.</param>
public sealed record ValueSummary(string Name, string? Type);

/// <summary>What <c>modelbridge inspect</c> reports about a model.</summary>
public sealed record ModelSummary
{
    /// <summary>ONNX IR version.</summary>
    public required long IrVersion { get; init; }

    /// <summary>Opset imports as <c>domain</c> → version (default domain as <c>ai.onnx</c>).</summary>
    public required IReadOnlyDictionary<string, long> Opsets { get; init; }

    /// <summary>Producer name and version.</summary>
    public required string Producer { get; init; }

    /// <summary>Graph inputs that are not initializers.</summary>
    public required IReadOnlyList<ValueSummary> Inputs { get; init; }

    /// <summary>Graph outputs, with their declared (or inferred) types.</summary>
    public required IReadOnlyList<ValueSummary> Outputs { get; init; }

    /// <summary>Node count.</summary>
    public required int NodeCount { get; init; }

    /// <summary>Operator histogram, most frequent first (ties by name).</summary>
    public required IReadOnlyDictionary<string, int> OpHistogram { get; init; }

    /// <summary>Number of weight elements: initializers and the payloads of <c>Constant</c> nodes (where Paddle2ONNX and others keep weights).</summary>
    public required long ParameterCount { get; init; }

    /// <summary>Bytes of those weights.</summary>
    public required long ParameterBytes { get; init; }

    /// <summary>Values whose shape is not (fully) known after inference.</summary>
    public required IReadOnlyList<string> UnknownShapes { get; init; }

    /// <summary>Warnings: dynamic shapes, non-standard domains, and the like.</summary>
    public required IReadOnlyList<string> Warnings { get; init; }

    /// <summary>Summarises <paramref name="model"/> as it stands.</summary>
    /// <param name="model">The model.</param>
    /// <param name="shapes">Its shape facts (e.g. inferred with pinned dims); <see cref="Graph.Shapes"/> when null.</param>
    public static ModelSummary Create(Model model, Shapes.ShapeInferenceResult? shapes = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Graph g = model.Graph;
        shapes ??= g.Shapes;
        var warnings = new List<string>();
        var histogram = g.Nodes
            .GroupBy(n => n.IsStandardDomain ? n.OpType : $"{n.Domain}::{n.OpType}")
            .Select(gr => new KeyValuePair<string, int>(gr.Key, gr.Count()))
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(kv => kv.Key, kv => kv.Value); // insertion order: most frequent first
        long parameters = 0, bytes = 0;
        foreach (Value v in g.Initializers)
        {
            Tensor t = v.Initializer!;
            parameters += t.ElementCount;
            bytes += Math.Max(0, t.ExpectedByteLength);
        }
        foreach (Node n in g.Nodes.Where(n => n is { OpType: "Constant", IsStandardDomain: true }))
        {
            if (Constants.OfConstantNode(n) is { } t)
            {
                parameters += t.ElementCount;
                bytes += Math.Max(0, t.ExpectedByteLength);
            }
        }
        foreach (Value v in g.Inputs.Where(v => v.Initializer is null))
        {
            if (shapes.ShapeOf(v) is not { } s)
            {
                warnings.Add($"input '{v.Name}' has no declared shape");
            }
            else if (!s.IsStatic)
            {
                warnings.Add($"input '{v.Name}' has a dynamic shape {s}; pin symbols with --set-dim NAME=VALUE for static shapes");
            }
        }
        foreach (var domain in g.Nodes.Where(n => !n.IsStandardDomain).GroupBy(n => n.Domain).OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            warnings.Add($"{domain.Count()} node(s) from non-standard domain '{domain.Key}' ({string.Join(", ", domain.Select(n => n.OpType).Distinct())})");
        }
        var unknown = g.Nodes
            .SelectMany(n => n.Outputs)
            .Where(o => o is not null && shapes.ShapeOf(o) is not { IsStatic: true })
            .Select(o => o!.Name)
            .ToList();
        return new ModelSummary
        {
            IrVersion = model.IrVersion,
            Opsets = model.OpsetImports.ToDictionary(o => o.Domain.Length == 0 ? "ai.onnx" : o.Domain, o => o.Version),
            Producer = $"{model.ProducerName} {model.ProducerVersion}".Trim(),
            Inputs = [.. g.Inputs.Where(v => v.Initializer is null).Select(v => Describe(v, shapes))],
            Outputs = [.. g.Outputs.Select(v => Describe(v, shapes))],
            NodeCount = g.NodeCount,
            OpHistogram = histogram,
            ParameterCount = parameters,
            ParameterBytes = bytes,
            UnknownShapes = unknown,
            Warnings = warnings,
        };
    }

    private static ValueSummary Describe(Value v, Shapes.ShapeInferenceResult shapes) => new(v.Name, shapes.TypeOf(v)?.ToString());
}
