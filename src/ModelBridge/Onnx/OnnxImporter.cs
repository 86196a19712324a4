using System.Collections.Immutable;
using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.OnnxProto;
using AttrType = ModelBridge.OnnxProto.AttributeProto.Types.AttributeType;

namespace ModelBridge.Onnx;

/// <summary>Builds the IR from parsed protobuf, keeping what it does not model for the exporter.</summary>
internal static class OnnxImporter
{
    /// <summary>Subgraphs nested deeper than this are refused (bounded recursion).</summary>
    public const int MaxSubgraphDepth = 64;

    public static Model Import(ModelProto proto, List<InitializerRecord> records, ModelBytes? bytes, ExternalDataReader? external, string? sourcePath)
    {
        GraphProto? gp = proto.Graph;
        proto.Graph = null;
        var model = new Model(proto, bytes, sourcePath);
        if (gp is null)
        {
            ThrowHelper.InvalidModel("The model has no graph.");
        }
        CheckOpsetImports(proto);
        ReadOnlyMemory<byte> buffer = bytes?.Memory ?? ReadOnlyMemory<byte>.Empty;
        var inits = records
            .Select(r => (r.Meta.Name, TensorFromProto(r.Meta, r.HasRaw ? buffer.Slice(r.RawStart, r.RawLength) : (ReadOnlyMemory<byte>?)null, external, null)))
            .ToList();
        model.Graph = ImportGraph(model, gp, inits);
        return model;
    }

    /// <summary>Builds a graph from its protobuf (initializers given separately, already as tensors).</summary>
    public static Graph ImportGraph(Model model, GraphProto gp, List<(string Name, Tensor Tensor)> inits)
    {
        var graph = new Graph(model, gp.Name, gp);

        foreach (ValueInfoProto vi in gp.Input)
        {
            Value v = graph.FindValue(vi.Name) ?? graph.CreateValue(vi.Name);
            if (v.IsGraphInput)
            {
                ThrowHelper.InvalidModel($"Graph input '{vi.Name}' is declared twice.");
            }
            AttachInfo(v, vi);
            graph.RegisterInput(v);
        }
        foreach (var (name, t) in inits)
        {
            Value v = graph.GetOrCreateValue(name);
            if (v.Initializer is not null)
            {
                ThrowHelper.InvalidModel($"Initializer '{name}' is declared twice.");
            }
            graph.RegisterInitializer(v, t);
            v.DeclaredType ??= new TensorType(t.DataType, TensorShape.Of([.. t.Dims]));
        }
        foreach (NodeProto np in gp.Node)
        {
            var node = new Node(graph, np.Name, np.OpType, np.Domain, np.Attribute.Select(AttributeValue.FromProto), np);
            graph.AttachNode(node, null);
            foreach (string input in np.Input)
            {
                graph.AppendInput(node, input.Length == 0 ? null : graph.GetOrCreateValue(input));
            }
            foreach (string output in np.Output)
            {
                if (output.Length == 0)
                {
                    graph.AppendOutput(node, null);
                    continue;
                }
                Value? existing = graph.FindValue(output);
                if (existing?.Producer is { } other)
                {
                    ThrowHelper.InvalidModel($"Value '{output}' is produced by two nodes: '{other.Name}' ({other.OpType}) and '{np.Name}' ({np.OpType}).", np.Name, np.OpType);
                }
                if (existing is not null && (existing.IsGraphInput || existing.Initializer is not null))
                {
                    ThrowHelper.InvalidModel($"Node '{np.Name}' ({np.OpType}) writes '{output}', which is already a graph input or initializer.", np.Name, np.OpType);
                }
                graph.AppendOutput(node, output);
            }
            foreach (string captured in FreeNames(np, 0))
            {
                graph.AddImplicitInput(node, graph.GetOrCreateValue(captured));
            }
        }
        foreach (ValueInfoProto vi in gp.Output)
        {
            Value v = graph.GetOrCreateValue(vi.Name);
            if (v.IsGraphOutput)
            {
                // Listing an output twice is legal in ONNX; keep both entries.
                graph.RegisterOutput(v);
                continue;
            }
            AttachInfo(v, vi, output: true);
            graph.RegisterOutput(v);
        }
        foreach (ValueInfoProto vi in gp.ValueInfo)
        {
            Value v = graph.GetOrCreateValue(vi.Name);
            graph.ValueInfoOrder.Add((v, vi));
            if (v.Info is null)
            {
                AttachInfo(v, vi);
            }
        }
        gp.Node.Clear();
        gp.Input.Clear();
        gp.Output.Clear();
        gp.ValueInfo.Clear();
        return graph;
    }

    /// <summary>Refuses opset imports that name a domain twice or a version below 1 (every consumer assumes one version per domain).</summary>
    private static void CheckOpsetImports(ModelProto proto)
    {
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (OperatorSetIdProto o in proto.OpsetImport)
        {
            string domain = o.Domain == "ai.onnx" ? string.Empty : o.Domain;
            string shown = domain.Length == 0 ? "ai.onnx (default)" : domain;
            if (seen.TryGetValue(domain, out long first))
            {
                ThrowHelper.InvalidModel($"opset_import lists domain '{shown}' twice (versions {first} and {o.Version}).");
            }
            if (o.Version < 1)
            {
                ThrowHelper.InvalidModel($"opset_import gives domain '{shown}' version {o.Version}; versions start at 1.");
            }
            seen[domain] = o.Version;
        }
    }

    private static void AttachInfo(Value v, ValueInfoProto vi, bool output = false)
    {
        if (output)
        {
            v.OutputInfo = vi;
        }
        else
        {
            v.Info = vi;
        }
        TensorType? declared = TypeFromProto(vi.Type);
        CheckDeclaredShape(vi.Name, declared);
        v.DeclaredType ??= declared;
    }

    /// <summary>A declared dimension must be non-negative, and the declared element count must fit in 64 bits.</summary>
    private static void CheckDeclaredShape(string name, TensorType? type)
    {
        if (type?.Shape is not { } shape)
        {
            return;
        }
        Int128 product = 1;
        foreach (Dim d in shape.Dims)
        {
            if (d.Value is not long n)
            {
                continue;
            }
            if (n < 0)
            {
                ThrowHelper.InvalidModel($"Value '{name}' declares a negative dimension {n} in its shape {shape}.");
            }
            // Capped so that the product of many huge dims cannot overflow Int128 itself.
            product = Int128.Min(product * n, (Int128)long.MaxValue + 1);
        }
        if (product > long.MaxValue)
        {
            ThrowHelper.InvalidModel($"Value '{name}' declares shape {shape}, whose element count overflows a 64-bit integer.");
        }
    }

    public static TensorType? TypeFromProto(TypeProto? type)
    {
        if (type?.TensorType is not { } tt)
        {
            return null;
        }
        TensorShape? shape = null;
        if (tt.Shape is { } sp)
        {
            shape = new TensorShape(sp.Dim.Select(d => d.ValueCase switch
            {
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => Dim.Of(d.DimValue),
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam when d.DimParam.Length > 0 => Dim.Sym(d.DimParam),
                _ => Dim.Unknown,
            }));
        }
        return new TensorType((DataType)tt.ElemType, shape);
    }

    /// <summary>Builds a tensor from its fields and, when given, a raw payload view.</summary>
    public static Tensor TensorFromProto(TensorProto meta, ReadOnlyMemory<byte>? raw, ExternalDataReader? external, Node? context)
    {
        foreach (long d in meta.Dims)
        {
            if (d < 0)
            {
                ThrowHelper.InvalidModel($"Tensor '{meta.Name}' has a negative dimension {d} in dims [{string.Join(",", meta.Dims)}].", context?.Name, context?.OpType);
            }
        }
        try
        {
            _ = DataTypes.ByteCount((DataType)meta.DataType, Tensor.CountElements([.. meta.Dims]));
        }
        catch (OverflowException)
        {
            ThrowHelper.InvalidModel($"Tensor '{meta.Name}' has dims [{string.Join(",", meta.Dims)}] whose element count overflows.", context?.Name, context?.OpType);
        }
        bool isExternal = meta.HasDataLocation && meta.DataLocation == TensorProto.Types.DataLocation.External;
        if (isExternal && external is null)
        {
            ThrowHelper.InvalidModel($"Tensor '{meta.Name}' stores its data externally, but the model was loaded without a folder to resolve it against (load from a path or set LoadOptions.BaseDirectory).", context?.Name, context?.OpType);
        }
        if (raw is null && meta.HasRawData)
        {
            raw = meta.RawData.Memory;
        }
        var t = new Tensor((DataType)meta.DataType, [.. meta.Dims], meta, isExternal ? null : raw, isExternal ? external : null);
        if (isExternal)
        {
            // Validate the location eagerly so a hostile path is refused at load, not at first use.
            external!.Resolve(t.External!, meta.Name);
        }
        return t;
    }

    /// <summary>Names a node's subgraphs read from enclosing scopes.</summary>
    private static IEnumerable<string> FreeNames(NodeProto node, int depth)
    {
        var free = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (AttributeProto a in node.Attribute)
        {
            AttrType t = AttributeValue.EffectiveType(a);
            IEnumerable<GraphProto> graphs = t == AttrType.Graph && a.G is not null ? [a.G] : t == AttrType.Graphs ? a.Graphs : [];
            foreach (GraphProto g in graphs)
            {
                foreach (string name in FreeNames(g, depth + 1, node))
                {
                    if (seen.Add(name))
                    {
                        free.Add(name);
                    }
                }
            }
        }
        return free;
    }

    private static IEnumerable<string> FreeNames(GraphProto g, int depth, NodeProto owner)
    {
        if (depth > MaxSubgraphDepth)
        {
            ThrowHelper.InvalidModel($"Node '{owner.Name}' ({owner.OpType}) nests subgraphs more than {MaxSubgraphDepth} deep.", owner.Name, owner.OpType);
        }
        var defined = new HashSet<string>(StringComparer.Ordinal) { string.Empty };
        defined.UnionWith(g.Input.Select(i => i.Name));
        defined.UnionWith(g.Initializer.Select(i => i.Name));
        defined.UnionWith(g.SparseInitializer.Select(i => i.Values?.Name ?? string.Empty));
        foreach (NodeProto n in g.Node)
        {
            defined.UnionWith(n.Output);
        }
        var free = new List<string>();
        foreach (NodeProto n in g.Node)
        {
            free.AddRange(n.Input.Where(i => !defined.Contains(i)));
            free.AddRange(FreeNames(n, depth).Where(i => !defined.Contains(i)));
        }
        free.AddRange(g.Output.Select(o => o.Name).Where(o => !defined.Contains(o)));
        return free;
    }
}
