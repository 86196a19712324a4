using System.Globalization;
using System.Text.RegularExpressions;
using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Surgery;

/// <summary>What the channels of a detector head output hold, per anchor.</summary>
public enum HeadRole
{
    /// <summary>Class logits: K values per anchor (<c>cls</c>).</summary>
    Classes,

    /// <summary>Box regression: 4 values per anchor (<c>box</c>).</summary>
    Boxes,

    /// <summary>One score per anchor: centerness, objectness (<c>ctr</c>, <c>obj</c>).</summary>
    Score,
}

/// <summary>How a head conv's output channels are laid out over anchors and per-anchor values.</summary>
public enum HeadLayout
{
    /// <summary>channel = anchor·W + value (RetinaNet/torchvision, SSD): all values of anchor 0 first.</summary>
    AnchorMajor,

    /// <summary>channel = value·A + anchor: all anchors of value 0 first.</summary>
    ClassMajor,
}

/// <summary>A graph output recognised as a detector head output.</summary>
/// <param name="Kind">The kind as named (<c>cls</c>, <c>box</c>, <c>ctr</c>).</param>
/// <param name="Role">What its channels hold.</param>
/// <param name="Level">The FPN level (3 for P3).</param>
public sealed record HeadOutput(string Kind, HeadRole Role, int Level);

/// <summary>Anchors per location and classes of a detector's heads.</summary>
/// <param name="Anchors">Anchors per location (A).</param>
/// <param name="Classes">Classes (K).</param>
public sealed record HeadGeometry(int Anchors, int Classes)
{
    /// <summary>Values per anchor for a head of <paramref name="role"/>: K, 4 or 1.</summary>
    public int ValuesPerAnchor(HeadRole role) => role switch
    {
        HeadRole.Classes => Classes,
        HeadRole.Boxes => 4,
        _ => 1,
    };

    /// <summary>
    /// The original channel of (anchor <paramref name="anchor"/>, value <paramref name="value"/>) of
    /// a <paramref name="role"/> head: a·W + v anchor-major, v·A + a class-major.
    /// </summary>
    public long Channel(HeadRole role, HeadLayout layout, int anchor, int value) => layout == HeadLayout.AnchorMajor
        ? ((long)anchor * ValuesPerAnchor(role)) + value
        : ((long)value * Anchors) + anchor;
}

/// <summary>
/// How to recognise the head outputs of a detector: by <em>original</em> output name (through the
/// tensor map, so outputs renamed earlier are still found), either from the pattern
/// <c>{kind}_p{level}</c> (<c>cls_p3</c>, <c>box_p4</c>, <c>ctr_p5</c>, as the RetinaNet and FCOS
/// fixtures name them) or from an explicit <see cref="Map"/>.
/// </summary>
/// <remarks>
/// Kinds map to roles through <see cref="Kinds"/> (default: <c>cls</c> → classes; <c>box</c>,
/// <c>bbox</c>, <c>reg</c> → boxes; <c>ctr</c>, <c>obj</c> → one score per anchor).
/// <see cref="Anchors"/> and <see cref="Classes"/> default to what the channel counts imply:
/// A = box channels / 4 and K = cls channels / A (for RetinaNet, 36 / 4 = 9 and 45 / 9 = 5).
/// </remarks>
public sealed partial record DetectorHeads
{
    /// <summary>Names like <c>cls_p3</c>, default kinds, geometry from the channel counts.</summary>
    public static DetectorHeads Default { get; } = new();

    /// <summary>
    /// Explicit head outputs: original output name → head name in the form <c>{kind}_p{level}</c>
    /// (<c>{"logits_s8": "cls_p3"}</c>). When set, only the outputs it lists are heads.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Map { get; init; }

    /// <summary>Roles of the kinds (case-insensitive).</summary>
    public IReadOnlyDictionary<string, HeadRole> Kinds { get; init; } = new Dictionary<string, HeadRole>(StringComparer.OrdinalIgnoreCase)
    {
        ["cls"] = HeadRole.Classes,
        ["box"] = HeadRole.Boxes,
        ["bbox"] = HeadRole.Boxes,
        ["reg"] = HeadRole.Boxes,
        ["ctr"] = HeadRole.Score,
        ["obj"] = HeadRole.Score,
    };

    /// <summary>Anchors per location; null to infer it from the box outputs' channels.</summary>
    public int? Anchors { get; init; }

    /// <summary>Number of classes; null to infer it from the cls outputs' channels.</summary>
    public int? Classes { get; init; }

    /// <summary>
    /// The head output that <paramref name="output"/> is, judged by its original name when
    /// <paramref name="provenance"/> knows it; null when it is not a head output.
    /// </summary>
    public HeadOutput? Recognize(Value output, ProvenanceMap? provenance = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        return Recognize(OriginalName(output, provenance));
    }

    /// <summary>The head output called <paramref name="originalName"/> in the original graph, or null.</summary>
    public HeadOutput? Recognize(string originalName)
    {
        ArgumentNullException.ThrowIfNull(originalName);
        string headName = originalName;
        if (Map is not null && !Map.TryGetValue(originalName, out headName!))
        {
            return null;
        }
        Match m = NamePattern().Match(headName);
        if (!m.Success || !Kinds.TryGetValue(m.Groups["kind"].Value, out HeadRole role))
        {
            return null;
        }
        return new HeadOutput(m.Groups["kind"].Value, role, int.Parse(m.Groups["level"].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>The original name of <paramref name="value"/> (its own when the map does not know it).</summary>
    public static string OriginalName(Value value, ProvenanceMap? provenance)
    {
        ArgumentNullException.ThrowIfNull(value);
        return provenance?.Get(value.Name)?.Original ?? value.Name;
    }

    /// <summary>
    /// Anchors and classes of the heads among <paramref name="graph"/>'s outputs: the explicit
    /// <see cref="Anchors"/>/<see cref="Classes"/>, or what the channel counts imply.
    /// </summary>
    /// <exception cref="UnsupportedOperatorException">The graph has no head outputs to infer from, or their channels do not split into anchors × values; the message names the node.</exception>
    public HeadGeometry ResolveGeometry(Graph graph, ProvenanceMap? provenance = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Shapes.ShapeInferenceResult shapes = graph.Shapes;
        var heads = graph.Outputs.Select(o => (Value: o, Head: Recognize(o, provenance))).Where(h => h.Head is not null).ToList();
        int? anchors = Anchors;
        if (anchors is null)
        {
            var perAnchor = heads.FirstOrDefault(h => h.Head!.Role is HeadRole.Boxes or HeadRole.Score && Channels(h.Value, shapes) is not null);
            if (perAnchor.Value is null)
            {
                throw new UnsupportedOperatorException(
                    "Cannot infer anchors per location: no box or score head output with a known channel count; set DetectorHeads.Anchors.", null, null);
            }
            int width = perAnchor.Head!.Role == HeadRole.Boxes ? 4 : 1;
            long c = Channels(perAnchor.Value, shapes)!.Value;
            if (c % width != 0)
            {
                throw Mismatch(perAnchor.Value, c, $"is not a multiple of {width} values per anchor");
            }
            anchors = (int)(c / width);
        }
        int? classes = Classes;
        if (classes is null)
        {
            var cls = heads.FirstOrDefault(h => h.Head!.Role == HeadRole.Classes && Channels(h.Value, shapes) is not null);
            if (cls.Value is null)
            {
                // A detector without class outputs (boxes only) has no class count to report.
                classes = 0;
            }
            else
            {
                long c = Channels(cls.Value, shapes)!.Value;
                if (c % anchors.Value != 0)
                {
                    throw Mismatch(cls.Value, c, $"is not a multiple of {anchors} anchors");
                }
                classes = (int)(c / anchors.Value);
            }
        }
        return new HeadGeometry(anchors.Value, classes.Value);
    }

    /// <summary>The channel count (axis 1) of an output: from its type, else from the weight of the Conv producing it.</summary>
    internal static long? Channels(Value v, Shapes.ShapeInferenceResult shapes)
    {
        if (shapes.ShapeOf(v) is { Rank: >= 2 } s && s.Dims[1].Value is long c)
        {
            return c;
        }
        return v.Producer is { OpType: "Conv" } conv && Constants.Of(conv.Input(1)) is { Dims.Length: > 0 } w ? w.Dims[0] : null;
    }

    private static UnsupportedOperatorException Mismatch(Value v, long channels, string what)
    {
        Node? p = v.Producer;
        string where = p is null ? $"output '{v.Name}'" : $"{p.OpType} '{p.Name}' (output '{v.Name}')";
        return new UnsupportedOperatorException($"Cannot infer the head geometry: {where} has {channels} channels, which {what}.", p?.Name, p?.OpType);
    }

    [GeneratedRegex(@"^(?<kind>[A-Za-z]+)_[pP](?<level>\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
