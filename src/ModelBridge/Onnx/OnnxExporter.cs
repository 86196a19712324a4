using System.Globalization;
using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.OnnxProto;
using ModelBridge.Shapes;

namespace ModelBridge.Onnx;

/// <summary>Turns the IR back into protobuf, reusing loaded messages for everything unedited.</summary>
/// <remarks>
/// Unedited parts come back as the very messages that were parsed (so unknown fields, field
/// presence and typed payload fields survive) and initializer payloads are wrapped, not copied.
/// An unedited model therefore serialises to the bytes it was loaded from.
/// </remarks>
internal static class OnnxExporter
{
    /// <param name="model">The model.</param>
    /// <param name="options">Save options.</param>
    /// <param name="external">Where initializers are placed instead of inline (null: all inline).</param>
    /// <param name="includeInitializers">False to leave the initializers out (a structural copy).</param>
    /// <param name="extraOutputs">Main-graph values appended to the outputs (not already listed), without editing the model.</param>
    /// <param name="onlyExtraOutputs">
    /// Export <paramref name="extraOutputs"/> as the only outputs, with only the nodes and initializers
    /// they depend on (a runtime then computes nothing else).
    /// </param>
    public static ModelProto Export(Model model, SaveOptions options, IInitializerPlacement? external, bool includeInitializers = true,
        IReadOnlyList<Value>? extraOutputs = null, bool onlyExtraOutputs = false)
    {
        var proto = new ModelProto();
        proto.MergeFrom(model.Template);
        proto.Graph = ExportGraph(model.Graph, options, external, includeInitializers, extraOutputs ?? [], onlyExtraOutputs);
        return proto;
    }

    /// <summary>The nodes <paramref name="outputs"/> depend on, and the values those nodes read (explicitly or from subgraphs).</summary>
    private static (HashSet<Node> Nodes, HashSet<Value> Used) Ancestors(IReadOnlyList<Value> outputs)
    {
        var nodes = new HashSet<Node>();
        var used = new HashSet<Value>(outputs);
        var stack = new Stack<Value>(outputs);
        while (stack.Count > 0)
        {
            if (stack.Pop().Producer is not { } n || !nodes.Add(n))
            {
                continue;
            }
            foreach (Value? v in n.Inputs.Concat(n.ImplicitInputs))
            {
                if (v is not null && used.Add(v))
                {
                    stack.Push(v);
                }
            }
        }
        return (nodes, used);
    }

    private static GraphProto ExportGraph(Graph graph, SaveOptions options, IInitializerPlacement? external, bool includeInitializers,
        IReadOnlyList<Value> extraOutputs, bool onlyExtraOutputs)
    {
        var gp = new GraphProto();
        if (graph.Template is { } template)
        {
            gp.MergeFrom(template);
        }
        if (gp.Name != graph.Name)
        {
            gp.Name = graph.Name;
        }
        IReadOnlyList<Node> order = graph.TopologicalOrder();
        (HashSet<Node> Nodes, HashSet<Value> Used)? kept = onlyExtraOutputs ? Ancestors(extraOutputs) : null;
        if (kept is { } k)
        {
            order = [.. order.Where(k.Nodes.Contains)];
        }
        foreach (Node n in order)
        {
            gp.Node.Add(ExportNode(n));
        }
        foreach (Value v in includeInitializers ? graph.Initializers : [])
        {
            if (kept is null || kept.Value.Used.Contains(v))
            {
                gp.Initializer.Add(external?.Place(v) ?? v.Initializer!.ToProto(v.Name));
            }
        }
        // With WriteInferredShapes the interface declares the inferred types too (pinned dims included).
        ShapeInferenceResult? shapes = options.WriteInferredShapes ? options.Shapes ?? graph.Shapes : null;
        foreach (Value v in graph.Inputs)
        {
            // A pruned export drops the initializers it does not read; an input that was one of them
            // (the IR < 4 habit of listing every weight) goes too, or it would become a required feed.
            if (kept is not null && v.Initializer is not null && !kept.Value.Used.Contains(v))
            {
                continue;
            }
            gp.Input.Add(ExportInfo(v, v.Info, shapes?.TypeOf(v) ?? v.DeclaredType));
        }
        foreach (Value v in kept is null ? graph.Outputs : [])
        {
            gp.Output.Add(ExportInfo(v, v.OutputInfo, shapes?.TypeOf(v) ?? v.DeclaredType));
        }
        var listed = new HashSet<Value>(kept is null ? graph.Outputs : []);
        foreach (Value v in extraOutputs)
        {
            if (listed.Add(v))
            {
                // Typed when the IR knows the type; ORT infers it otherwise.
                gp.Output.Add(ExportInfo(v, null));
            }
        }
        var written = new HashSet<Value>();
        foreach (var (v, info) in graph.ValueInfoOrder)
        {
            if (graph.FindValue(v.Name) != v || (kept is not null && !kept.Value.Used.Contains(v)))
            {
                continue;
            }
            written.Add(v);
            gp.ValueInfo.Add(ExportInfo(v, info));
        }
        if (shapes is not null)
        {
            foreach (Node n in order)
            {
                foreach (Value? o in n.Outputs)
                {
                    if (o is not null && shapes.TypeOf(o) is { } inferred && !o.IsGraphOutput && (kept is null || kept.Value.Used.Contains(o)) && written.Add(o))
                    {
                        gp.ValueInfo.Add(ExportInfo(o, null, inferred));
                    }
                }
            }
        }
        return gp;
    }

    private static NodeProto ExportNode(Node n)
    {
        var p = new NodeProto();
        if (n.Template is { } t)
        {
            p.MergeFrom(t);
            p.Input.Clear();
            p.Output.Clear();
            p.Attribute.Clear();
        }
        if (p.Name != n.Name)
        {
            p.Name = n.Name;
        }
        if (p.OpType != n.OpType)
        {
            p.OpType = n.OpType;
        }
        if (p.Domain != n.Domain)
        {
            p.Domain = n.Domain;
        }
        foreach (Value? v in n.Inputs)
        {
            p.Input.Add(v?.Name ?? string.Empty);
        }
        foreach (Value? v in n.Outputs)
        {
            p.Output.Add(v?.Name ?? string.Empty);
        }
        p.Attribute.Add(n.AttributeList.Select(a => a.Proto));
        return p;
    }

    private static ValueInfoProto ExportInfo(Value v, ValueInfoProto? loaded) => ExportInfo(v, loaded, v.DeclaredType);

    private static ValueInfoProto ExportInfo(Value v, ValueInfoProto? loaded, TensorType? declared)
    {
        if (loaded is not null && (declared is null || Equals(OnnxImporter.TypeFromProto(loaded.Type), declared)))
        {
            if (loaded.Name == v.Name)
            {
                return loaded;
            }
            var renamed = loaded.Clone();
            renamed.Name = v.Name;
            return renamed;
        }
        var p = new ValueInfoProto { Name = v.Name };
        if (loaded is not null)
        {
            if (loaded.HasDocString)
            {
                p.DocString = loaded.DocString;
            }
            p.MetadataProps.Add(loaded.MetadataProps);
        }
        if (declared is { } type)
        {
            p.Type = TypeToProto(type);
        }
        else if (loaded?.Type is not null)
        {
            p.Type = loaded.Type;
        }
        return p;
    }

    public static TypeProto TypeToProto(TensorType type)
    {
        var tt = new TypeProto.Types.Tensor { ElemType = (int)type.ElementType };
        if (type.Shape is { } shape)
        {
            tt.Shape = new TensorShapeProto();
            foreach (Dim d in shape.Dims)
            {
                var dim = new TensorShapeProto.Types.Dimension();
                if (d.Value is long value)
                {
                    dim.DimValue = value;
                }
                else if (d.Symbol is { } sym)
                {
                    dim.DimParam = sym;
                }
                tt.Shape.Dim.Add(dim);
            }
        }
        return new TypeProto { TensorType = tt };
    }
}

/// <summary>Decides, initializer by initializer, what the exporter writes in place of the inline tensor.</summary>
internal interface IInitializerPlacement
{
    /// <summary>The tensor message to write for <paramref name="v"/>, or null to write it inline.</summary>
    TensorProto? Place(Value v);
}

/// <summary>Lays out large initializers in an external-data side file while a model is exported.</summary>
internal sealed class ExternalDataPlan(ExternalDataOptions options) : IInitializerPlacement
{
    private readonly List<(long Offset, ReadOnlyMemory<byte> Data)> _chunks = [];
    private long _length;

    public ExternalDataOptions Options { get; } = options;

    public bool IsEmpty => _chunks.Count == 0;

    public TensorProto? Place(Value v)
    {
        Tensor t = v.Initializer!;
        if (t.DataType == DataType.String || t.ExpectedByteLength < Options.SizeThreshold)
        {
            return null;
        }
        ReadOnlyMemory<byte> data = t.Data;
        if (data.Length != t.ExpectedByteLength)
        {
            ThrowHelper.InvalidModel($"Initializer '{v.Name}' ({t}) holds {data.Length} bytes but needs {t.ExpectedByteLength}.");
        }
        long offset = (_length + Options.Alignment - 1) / Options.Alignment * Options.Alignment;
        _chunks.Add((offset, data));
        _length = offset + data.Length;
        var p = new TensorProto();
        p.Dims.Add(t.Dims);
        p.DataType = (int)t.DataType;
        p.Name = v.Name;
        if (t.Template.HasDocString)
        {
            p.DocString = t.Template.DocString;
        }
        p.MetadataProps.Add(t.Template.MetadataProps);
        p.DataLocation = TensorProto.Types.DataLocation.External;
        p.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = Options.FileName });
        p.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
        p.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = data.Length.ToString(CultureInfo.InvariantCulture) });
        return p;
    }

    public void WriteTo(Stream stream)
    {
        long position = 0;
        Span<byte> zeros = stackalloc byte[256];
        foreach (var (offset, data) in _chunks)
        {
            while (position < offset)
            {
                int n = (int)Math.Min(zeros.Length, offset - position);
                stream.Write(zeros[..n]);
                position += n;
            }
            stream.Write(data.Span);
            position += data.Length;
        }
    }
}
