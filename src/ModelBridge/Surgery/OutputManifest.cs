using System.Text.Json;
using System.Text.Json.Serialization;
using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.Onnx;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Surgery;

/// <summary>
/// What an app needs to read a converted model's outputs (<c>OUT.manifest.json</c>): for each
/// input and output its index, name, original name, shape and element type, and for detector head
/// outputs the level, stride, anchors per location, classes and the kept ids when sliced.
/// </summary>
/// <remarks>
/// Shapes use -1 for a dimension that is not static. Stride is input height / output height when
/// that divides evenly and matches the width ratio. <c>anchorsPerLocation</c> and
/// <c>classCount</c> describe the output as it is (after slicing); <c>keptAnchorIds</c> and
/// <c>keptClassIds</c> list, in channel order, the original ids an output keeps when it keeps a
/// subset of them. The JSON is deterministic: the same conversion writes the same bytes.
/// </remarks>
public sealed class OutputManifest
{
    /// <summary>Format tag written to the file.</summary>
    public const string FormatTag = "modelbridge-output-manifest/1";

    /// <summary>The format tag (<see cref="FormatTag"/>).</summary>
    public string Format { get; init; } = FormatTag;

    /// <summary>
    /// The target profile the model was converted for (its name, e.g. <c>ort-nnapi</c>), so that a later
    /// <c>verify</c> judges it at that target's tolerance without being told again.
    /// </summary>
    public string? Target { get; init; }

    /// <summary>Where that profile came from: <c>built-in:NAME</c> or the path of a profile JSON file.</summary>
    public string? TargetOrigin { get; init; }

    /// <summary>Channel layout of the heads (<c>anchor-major</c>, <c>class-major</c>), when the model has heads.</summary>
    public string? Layout { get; init; }

    /// <summary>Anchors per location of the original heads, when known.</summary>
    public int? Anchors { get; init; }

    /// <summary>Classes of the original heads, when known.</summary>
    public int? Classes { get; init; }

    /// <summary>The graph inputs (initializers excluded), in order.</summary>
    public IReadOnlyList<ManifestTensor> Inputs { get; init; } = [];

    /// <summary>The graph outputs, in order.</summary>
    public IReadOnlyList<ManifestTensor> Outputs { get; init; } = [];

    /// <summary>
    /// The post-processing model that <c>convert --split-postprocess</c> cut off, when there is one: the
    /// outputs above are then produced by the pair, the ones listed in <see cref="ManifestPostprocess.Outputs"/>
    /// by the post model.
    /// </summary>
    public ManifestPostprocess? Postprocess { get; init; }

    /// <summary>
    /// This manifest with a <see cref="Postprocess"/> section describing <paramref name="split"/>, whose post
    /// model is written as <paramref name="postFileName"/> beside the main model.
    /// </summary>
    /// <param name="split">The split of the converted model this manifest describes.</param>
    /// <param name="postFileName">File name of the post model, relative to the manifest's folder.</param>
    /// <param name="provenance">The conversion's tensor map (for the cut tensors' original names).</param>
    public OutputManifest WithPostprocess(PostprocessSplitResult split, string postFileName, ProvenanceMap provenance)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentException.ThrowIfNullOrEmpty(postFileName);
        ArgumentNullException.ThrowIfNull(provenance);
        Graph main = split.Main.Graph;
        var outputs = main.Outputs.Select((v, i) => (v, i)).ToDictionary(p => p.v.Name, p => p.i, StringComparer.Ordinal);
        return new OutputManifest
        {
            Format = Format,
            Target = Target,
            TargetOrigin = TargetOrigin,
            Layout = Layout,
            Anchors = Anchors,
            Classes = Classes,
            Inputs = Inputs,
            Outputs = Outputs,
            Postprocess = new ManifestPostprocess
            {
                Model = postFileName,
                Tensors = [.. split.CutTensors.Select(name => main.GetValue(name)).Select(v => new ManifestTensor
                {
                    Index = outputs[v.Name],
                    Name = v.Name,
                    OriginalName = DetectorHeads.OriginalName(v, provenance),
                    Shape = v.DeclaredType?.Shape is { } s ? [.. s.Dims.Select(d => d.Value ?? -1)] : null,
                    DType = v.DeclaredType is { } t ? DataTypes.OnnxName(t.ElementType) : null,
                })],
                GraphInputs = split.PostGraphInputs,
                Outputs = [.. split.Post.Graph.Outputs.Select(o => o.Name)],
                Nodes = [.. split.Post.Graph.TopologicalOrder().Where(n => n is not { OpType: "Constant", IsStandardDomain: true })
                    .Select(n => new ManifestNode { Op = n.OpType, Name = n.Name, Outputs = [.. n.Outputs.OfType<Value>().Select(o => o.Name)] })],
            },
        };
    }

    /// <summary>Describes <paramref name="converted"/>'s interface against <paramref name="original"/>.</summary>
    /// <param name="original">The model before conversion (its head outputs give the original anchors and classes).</param>
    /// <param name="converted">The converted model; left unchanged (missing shapes are inferred on a copy).</param>
    /// <param name="provenance">The conversion's tensor map (new names to original names and slices).</param>
    /// <param name="options">The surgery options used (for the head description and layout); defaults when null.</param>
    /// <param name="target">The profile the model was converted for, recorded so a later verify uses its tolerance; none when null.</param>
    public static OutputManifest Create(Model original, Model converted, ProvenanceMap provenance, OutputSurgeryOptions? options = null,
        Profiles.TargetProfile? target = null)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(converted);
        ArgumentNullException.ThrowIfNull(provenance);
        DetectorHeads heads = options?.Heads ?? DetectorHeads.Default;
        HeadLayout layout = options?.Layout ?? HeadLayout.AnchorMajor;
        bool hasHeads = original.Graph.Outputs.Any(o => heads.Recognize(o) is not null);
        HeadGeometry? geometry = null;
        if (hasHeads)
        {
            try
            {
                geometry = heads.ResolveGeometry(original.Graph);
            }
            catch (UnsupportedOperatorException)
            {
                // Heads whose channels do not split into anchors × values get no geometry fields.
            }
        }

        Graph g = converted.Graph;
        ShapeInferenceResult shapes = g.Shapes;
        Value[] inputs = [.. g.Inputs.Where(v => v.Initializer is null)];
        long[]? image = inputs.Select(v => Dims(v, shapes)).FirstOrDefault(d => d is { Length: 4 } && d[2] > 0 && d[3] > 0);
        return new OutputManifest
        {
            Target = target?.Name,
            TargetOrigin = target?.Origin,
            Layout = hasHeads ? (layout == HeadLayout.AnchorMajor ? "anchor-major" : "class-major") : null,
            Anchors = geometry?.Anchors,
            Classes = geometry is { Classes: > 0 } ? geometry.Classes : null,
            Inputs = [.. inputs.Select((v, i) => Describe(v, i, provenance, null, shapes))],
            Outputs = [.. g.Outputs.Select((v, i) => Describe(v, i, provenance, Head(v, provenance, heads, layout, geometry, image, shapes), shapes))],
        };
    }

    /// <summary>The manifest as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, SurgeryJson.Default.OutputManifest) + "\n";

    /// <summary>Reads a manifest written by <see cref="ToJson"/>.</summary>
    /// <exception cref="FormatException">The text is not a manifest of this format.</exception>
    public static OutputManifest FromJson(string json)
    {
        OutputManifest m = JsonSerializer.Deserialize(json, SurgeryJson.Default.OutputManifest) ?? throw new FormatException("The manifest is empty.");
        return m.Format == FormatTag ? m : throw new FormatException($"Unknown manifest format '{m.Format}'.");
    }

    /// <summary>Writes the manifest to <paramref name="path"/> atomically.</summary>
    public void Write(string path) => AtomicFile.WriteText(path, ToJson());

    private static ManifestTensor Describe(Value v, int index, ProvenanceMap provenance, ManifestHead? head, ShapeInferenceResult shapes) => new()
    {
        Index = index,
        Name = v.Name,
        OriginalName = DetectorHeads.OriginalName(v, provenance),
        Shape = Dims(v, shapes),
        DType = shapes.TypeOf(v) is { } t ? DataTypes.OnnxName(t.ElementType) : null,
        Head = head,
    };

    private static long[]? Dims(Value v, ShapeInferenceResult shapes) => shapes.ShapeOf(v) is { } s ? [.. s.Dims.Select(d => d.Value ?? -1)] : null;

    private static ManifestHead? Head(Value v, ProvenanceMap provenance, DetectorHeads heads, HeadLayout layout, HeadGeometry? geometry, long[]? image, ShapeInferenceResult shapes)
    {
        if (heads.Recognize(v, provenance) is not { } head)
        {
            return null;
        }
        long[]? dims = Dims(v, shapes);
        int? stride = null;
        if (image is not null && dims is { Length: 4 } && dims[2] > 0 && dims[3] > 0
            && image[2] % dims[2] == 0 && image[3] % dims[3] == 0 && image[2] / dims[2] == image[3] / dims[3])
        {
            stride = (int)(image[2] / dims[2]);
        }
        if (geometry is null)
        {
            return new ManifestHead { Kind = head.Kind, Level = head.Level, Stride = stride };
        }
        int width = geometry.ValuesPerAnchor(head.Role);
        int[] anchors = [.. Enumerable.Range(0, geometry.Anchors)];
        int[] values = [.. Enumerable.Range(0, width)];
        if (provenance.Get(v.Name)?.Slice is { Axis: 1 } slice)
        {
            // Decode each kept original channel into its (anchor, value) pair.
            var pairs = slice.Indices.Select(c => layout == HeadLayout.AnchorMajor
                ? (Anchor: (int)(c / width), Value: (int)(c % width))
                : (Anchor: (int)(c % geometry.Anchors), Value: (int)(c / geometry.Anchors))).ToList();
            anchors = [.. pairs.Select(p => p.Anchor).Distinct()];
            values = [.. pairs.Select(p => p.Value).Distinct()];
        }
        bool classes = head.Role == HeadRole.Classes;
        return new ManifestHead
        {
            Kind = head.Kind,
            Level = head.Level,
            Stride = stride,
            AnchorsPerLocation = anchors.Length,
            ClassCount = classes ? values.Length : null,
            KeptAnchorIds = anchors.Length < geometry.Anchors ? anchors : null,
            KeptClassIds = classes && values.Length < geometry.Classes ? values : null,
        };
    }
}

/// <summary>One input or output in an <see cref="OutputManifest"/>.</summary>
public sealed class ManifestTensor
{
    /// <summary>Position among the graph's inputs or outputs.</summary>
    public int Index { get; init; }

    /// <summary>Name in the converted model.</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>Name in the original model.</summary>
    public string OriginalName { get; init; } = string.Empty;

    /// <summary>Dimensions, -1 where not static; null when unknown.</summary>
    public IReadOnlyList<long>? Shape { get; init; }

    /// <summary>ONNX element type (<c>float</c>, <c>int64</c>, …); null when unknown.</summary>
    [JsonPropertyName("dtype")]
    public string? DType { get; init; }

    /// <summary>Detector head details, for head outputs.</summary>
    public ManifestHead? Head { get; init; }
}

/// <summary>
/// The CPU part of a split conversion (<see cref="PostprocessSplit"/>): run the main model, pass
/// <see cref="Tensors"/> (and <see cref="GraphInputs"/>) to the post model by name, and read
/// <see cref="Outputs"/> from it.
/// </summary>
public sealed class ManifestPostprocess
{
    /// <summary>File name of the post model, relative to the manifest's folder.</summary>
    public string Model { get; init; } = string.Empty;

    /// <summary>The tensors passed from the main model to the post model; <see cref="ManifestTensor.Index"/> is the position among the main model's outputs.</summary>
    public IReadOnlyList<ManifestTensor> Tensors { get; init; } = [];

    /// <summary>Inputs of the original model that the post model also reads, fed to it as they are.</summary>
    public IReadOnlyList<string> GraphInputs { get; init; } = [];

    /// <summary>The original outputs the post model produces.</summary>
    public IReadOnlyList<string> Outputs { get; init; } = [];

    /// <summary>The nodes that run in the post model, in topological order.</summary>
    public IReadOnlyList<ManifestNode> Nodes { get; init; } = [];
}

/// <summary>A node of a <see cref="ManifestPostprocess"/> model.</summary>
public sealed class ManifestNode
{
    /// <summary>Operator type.</summary>
    public string Op { get; init; } = string.Empty;

    /// <summary>Node name (may be empty in models whose exporter named no nodes).</summary>
    public string Name { get; init; } = string.Empty;

    /// <summary>Names of the values it produces.</summary>
    public IReadOnlyList<string> Outputs { get; init; } = [];
}

/// <summary>Detector head details of a manifest output.</summary>
public sealed class ManifestHead
{
    /// <summary>Head kind as named (<c>cls</c>, <c>box</c>, <c>ctr</c>).</summary>
    public string Kind { get; init; } = string.Empty;

    /// <summary>FPN level (3 for P3).</summary>
    public int Level { get; init; }

    /// <summary>Input pixels per output cell, when it divides evenly.</summary>
    public int? Stride { get; init; }

    /// <summary>Anchors per location in this output.</summary>
    public int? AnchorsPerLocation { get; init; }

    /// <summary>Classes in this output (class heads only).</summary>
    public int? ClassCount { get; init; }

    /// <summary>Original class ids kept, in channel order, when a subset was kept.</summary>
    public IReadOnlyList<int>? KeptClassIds { get; init; }

    /// <summary>Original anchor ids kept, in channel order, when a subset was kept.</summary>
    public IReadOnlyList<int>? KeptAnchorIds { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OutputManifest))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class SurgeryJson : JsonSerializerContext
{
}
