using Google.Protobuf;
using ModelBridge.OnnxProto;
using AttrType = ModelBridge.OnnxProto.AttributeProto.Types.AttributeType;

namespace ModelBridge.Fuzz;

/// <summary>
/// Seeded mutations of serialized ONNX models: byte-level damage (bit flips, truncation, a
/// duplicated length-delimited field) and structural damage made through the protobuf objects
/// (dims rewritten to negative/huge/zero, attribute type swaps, dropped initializers, rewired
/// inputs, unknown ops and opsets, payloads that disagree with their dims, deep subgraph nesting).
/// </summary>
/// <remarks>
/// Shared by the fuzz tool (tools/ModelBridge.Fuzz) and the bounded NUnit slice
/// (tests/ModelBridge.Tests/Robustness), which links this file. Everything is a pure function of
/// the input bytes and the <see cref="Random"/> passed in, so a case is reproduced from its seed.
/// </remarks>
internal static partial class ModelMutator
{
    /// <summary>The mutation kinds, in the order <see cref="Mutate"/> draws from.</summary>
    public static readonly string[] Kinds =
    [
        "bit-flip", "truncate", "duplicate-field", "dim-change", "attribute-type-swap", "drop-initializer",
        "rewire-input", "op-change", "opset-change", "payload-change", "drop-node", "duplicate-name",
        "ghost-output", "deep-nesting", "value-info-change", "attribute-value", "tensor-reshape", "tensor-values",
        "swap-inputs",
    ];

    private static readonly long[] HostileDims =
    [
        -1, -7, 0, 1L << 40, 1_000_000_000_000, long.MaxValue, long.MinValue, (long)int.MaxValue + 1, 3_037_000_500,
    ];

    private static readonly string[] OpTypes =
    [
        "Conv", "Reshape", "Gather", "Concat", "Slice", "Transpose", "Squeeze", "Unsqueeze", "Resize", "Gemm", "MatMul",
        "BatchNormalization", "GroupNormalization", "InstanceNormalization", "Expand", "Tile", "Pad", "Split", "Shape",
        "ConstantOfShape", "Range", "Einsum", "LSTM", "TopK", "ReduceMean", "Cast", "Constant", "If", "Loop",
        "HardSwish", "LeakyRelu", "PRelu", "Gelu", "Dropout", "Identity", "Flatten", "MaxPool", "ConvTranspose",
        "NoSuchOp", "",
    ];

    /// <summary>Applies one to three mutations drawn from <paramref name="rng"/>; returns the bytes and what was done.</summary>
    public static (byte[] Bytes, string Description) Mutate(byte[] model, Random rng)
    {
        int count = rng.Next(1, 4);
        byte[] current = model;
        var steps = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            string kind = Kinds[rng.Next(Kinds.Length)];
            (current, string what) = Apply(kind, current, rng);
            steps.Add(what);
        }
        return (current, string.Join("; ", steps));
    }

    /// <summary>Applies one mutation of the given kind.</summary>
    public static (byte[] Bytes, string Description) Apply(string kind, byte[] model, Random rng)
    {
        switch (kind)
        {
            case "bit-flip":
                return BitFlip(model, rng);
            case "truncate":
                return Truncate(model, rng);
            case "duplicate-field":
                return DuplicateField(model, rng);
        }
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(model);
        }
        catch (InvalidProtocolBufferException)
        {
            // An earlier mutation broke the protobuf: keep damaging bytes instead.
            return BitFlip(model, rng);
        }
        proto.Graph ??= new GraphProto();
        string description = kind switch
        {
            "dim-change" => DimChange(proto, rng),
            "attribute-type-swap" => AttributeTypeSwap(proto, rng),
            "drop-initializer" => DropInitializer(proto, rng),
            "rewire-input" => RewireInput(proto, rng),
            "op-change" => OpChange(proto, rng),
            "opset-change" => OpsetChange(proto, rng),
            "payload-change" => PayloadChange(proto, rng),
            "drop-node" => DropNode(proto, rng),
            "duplicate-name" => DuplicateName(proto, rng),
            "ghost-output" => GhostOutput(proto, rng),
            "deep-nesting" => DeepNesting(proto, rng),
            "value-info-change" => ValueInfoChange(proto, rng),
            "attribute-value" => AttributeValue(proto, rng),
            "tensor-reshape" => TensorReshape(proto, rng),
            "tensor-values" => TensorValues(proto, rng),
            "swap-inputs" => SwapInputs(proto, rng),
            _ => throw new ArgumentException($"Unknown mutation kind '{kind}'.", nameof(kind)),
        };
        return (proto.ToByteArray(), description);
    }

    // ---- structural, through the protobuf objects -----------------------------------------

    private static T? Pick<T>(IList<T> items, Random rng) where T : class => items.Count == 0 ? null : items[rng.Next(items.Count)];

    private static long HostileDim(Random rng) => rng.Next(4) == 0 ? rng.Next(0, 9) : HostileDims[rng.Next(HostileDims.Length)];

    /// <summary>Every tensor in the main graph: initializers and Constant/attribute tensors.</summary>
    private static List<TensorProto> Tensors(GraphProto g)
    {
        var list = new List<TensorProto>(g.Initializer);
        foreach (NodeProto n in g.Node)
        {
            list.AddRange(n.Attribute.Where(a => a.T is not null).Select(a => a.T));
        }
        return list;
    }

    private static string DimChange(ModelProto p, Random rng)
    {
        GraphProto g = p.Graph;
        if (rng.Next(2) == 0 && Pick(Tensors(g), rng) is { } t)
        {
            long d = HostileDim(rng);
            if (t.Dims.Count == 0 || rng.Next(4) == 0)
            {
                t.Dims.Add(d);
            }
            else
            {
                t.Dims[rng.Next(t.Dims.Count)] = d;
            }
            if (rng.Next(3) == 0)
            {
                // A huge claim with no payload at all must not allocate what it claims.
                t.ClearRawData();
                t.FloatData.Clear();
                t.Int64Data.Clear();
                t.Int32Data.Clear();
            }
            return $"dim-change tensor '{t.Name}' dims [{string.Join(",", t.Dims)}]";
        }
        var infos = g.Input.Concat(g.Output).Concat(g.ValueInfo).Where(v => v.Type?.TensorType?.Shape is not null).ToList();
        if (Pick(infos, rng) is { } vi)
        {
            var dims = vi.Type.TensorType.Shape.Dim;
            long d = HostileDim(rng);
            if (dims.Count == 0)
            {
                dims.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
            }
            else
            {
                dims[rng.Next(dims.Count)] = new TensorShapeProto.Types.Dimension { DimValue = d };
            }
            return $"dim-change value '{vi.Name}' dim {d}";
        }
        return "dim-change (nothing to change)";
    }

    private static string AttributeTypeSwap(ModelProto p, Random rng)
    {
        var attrs = p.Graph.Node.SelectMany(n => n.Attribute.Select(a => (n, a))).ToList();
        if (attrs.Count == 0)
        {
            return "attribute-type-swap (no attributes)";
        }
        var (node, a) = attrs[rng.Next(attrs.Count)];
        AttrType[] types = Enum.GetValues<AttrType>();
        AttrType to = types[rng.Next(types.Length)];
        if (rng.Next(2) == 0)
        {
            // Declared type disagrees with the populated field.
            a.Type = to;
            return $"attribute-type-swap '{node.Name}'.{a.Name} type-only -> {to}";
        }
        var replacement = new AttributeProto { Name = a.Name, Type = to };
        switch (to)
        {
            case AttrType.Float:
                replacement.F = (float)(rng.NextDouble() * 10 - 5);
                break;
            case AttrType.Int:
                replacement.I = HostileDim(rng);
                break;
            case AttrType.String:
                replacement.S = ByteString.CopyFromUtf8("fuzz");
                break;
            case AttrType.Tensor:
                replacement.T = new TensorProto { DataType = rng.Next(0, 26) };
                replacement.T.Dims.Add(HostileDim(rng));
                break;
            case AttrType.Graph:
                replacement.G = new GraphProto { Name = "fuzz" };
                break;
            case AttrType.Floats:
                replacement.Floats.Add(Enumerable.Range(0, rng.Next(0, 5)).Select(_ => (float)rng.NextDouble()));
                break;
            case AttrType.Ints:
                replacement.Ints.Add(Enumerable.Range(0, rng.Next(0, 6)).Select(_ => HostileDim(rng)));
                break;
            case AttrType.Strings:
                replacement.Strings.Add(ByteString.CopyFromUtf8("a"));
                break;
            default:
                break;
        }
        int index = node.Attribute.IndexOf(a);
        node.Attribute[index] = replacement;
        return $"attribute-type-swap '{node.Name}'.{a.Name} -> {to}";
    }

    private static string DropInitializer(ModelProto p, Random rng)
    {
        var g = p.Graph;
        int n = Math.Min(g.Initializer.Count, rng.Next(1, 4));
        var dropped = new List<string>();
        for (int i = 0; i < n; i++)
        {
            int at = rng.Next(g.Initializer.Count);
            dropped.Add(g.Initializer[at].Name);
            g.Initializer.RemoveAt(at);
        }
        return $"drop-initializer {string.Join(",", dropped)}";
    }

    private static List<string> Names(GraphProto g) =>
        [.. g.Input.Select(i => i.Name), .. g.Initializer.Select(i => i.Name), .. g.Node.SelectMany(n => n.Output)];

    private static string RewireInput(ModelProto p, Random rng)
    {
        var nodes = p.Graph.Node.Where(n => n.Input.Count > 0).ToList();
        if (Pick(nodes, rng) is not { } node)
        {
            return "rewire-input (no inputs)";
        }
        int slot = rng.Next(node.Input.Count);
        List<string> names = Names(p.Graph);
        string to = rng.Next(4) switch
        {
            0 => "fuzz_missing",
            1 => string.Empty,
            _ => names.Count > 0 ? names[rng.Next(names.Count)] : "fuzz_missing",
        };
        node.Input[slot] = to;
        if (rng.Next(4) == 0)
        {
            node.Input.Add(names.Count > 0 ? names[rng.Next(names.Count)] : "extra");
        }
        return $"rewire-input '{node.Name}'[{slot}] <- '{to}'";
    }

    private static string OpChange(ModelProto p, Random rng)
    {
        if (Pick(p.Graph.Node, rng) is not { } node)
        {
            return "op-change (no nodes)";
        }
        string was = node.OpType;
        if (rng.Next(5) == 0)
        {
            node.Domain = rng.Next(2) == 0 ? "com.fuzz" : "ai.onnx.ml";
        }
        else
        {
            node.OpType = OpTypes[rng.Next(OpTypes.Length)];
        }
        return $"op-change '{node.Name}' {was} -> {node.Domain}::{node.OpType}";
    }

    private static string OpsetChange(ModelProto p, Random rng)
    {
        switch (rng.Next(5))
        {
            case 0:
                p.OpsetImport.Clear();
                return "opset-change cleared";
            case 1:
                p.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.fuzz", Version = 1 });
                return "opset-change add com.fuzz";
            default:
                long v = new long[] { 99, 0, -1, 1, 6, 7, 10, 11, 13, 17, 18, long.MaxValue }[rng.Next(12)];
                if (p.OpsetImport.FirstOrDefault(o => o.Domain.Length == 0 || o.Domain == "ai.onnx") is { } o)
                {
                    o.Version = v;
                }
                else
                {
                    p.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = v });
                }
                return $"opset-change default -> {v}";
        }
    }

    private static string PayloadChange(ModelProto p, Random rng)
    {
        if (Pick(Tensors(p.Graph), rng) is not { } t)
        {
            return "payload-change (no tensors)";
        }
        switch (rng.Next(6))
        {
            case 0:
                if (t.RawData.Length > 0)
                {
                    t.RawData = ByteString.CopyFrom(t.RawData.Span[..rng.Next(t.RawData.Length)]);
                }
                return $"payload-change '{t.Name}' raw_data truncated";
            case 1:
                t.RawData = ByteString.CopyFrom([.. t.RawData.Span, .. new byte[rng.Next(1, 9)]]);
                return $"payload-change '{t.Name}' raw_data extended";
            case 2:
                t.DataType = new[] { 0, 8, 99, -3, 14, 15, 21, 22, 23, 24, 16, 17, 11, 7, 9 }[rng.Next(15)];
                return $"payload-change '{t.Name}' data_type {t.DataType}";
            case 3:
                // Typed field with fewer elements than dims claim.
                int n = t.RawData.Length / 4;
                t.ClearRawData();
                t.FloatData.Clear();
                t.FloatData.Add(Enumerable.Range(0, rng.Next(0, Math.Max(1, n))).Select(i => (float)i));
                return $"payload-change '{t.Name}' float_data of {t.FloatData.Count}";
            case 4:
                t.DataType = 8;
                t.ClearRawData();
                t.StringData.Add(ByteString.CopyFromUtf8("fuzz"));
                return $"payload-change '{t.Name}' to string";
            default:
                t.DataLocation = TensorProto.Types.DataLocation.External;
                t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = rng.Next(2) == 0 ? "../x.bin" : "w.bin" });
                return $"payload-change '{t.Name}' external";
        }
    }

    private static string DropNode(ModelProto p, Random rng)
    {
        if (p.Graph.Node.Count == 0)
        {
            return "drop-node (no nodes)";
        }
        int at = rng.Next(p.Graph.Node.Count);
        string name = p.Graph.Node[at].Name;
        p.Graph.Node.RemoveAt(at);
        return $"drop-node '{name}'";
    }

    private static string DuplicateName(ModelProto p, Random rng)
    {
        GraphProto g = p.Graph;
        List<string> names = Names(g);
        if (names.Count == 0)
        {
            return "duplicate-name (no names)";
        }
        string name = names[rng.Next(names.Count)];
        switch (rng.Next(4))
        {
            case 0 when g.Node.Count > 0:
                NodeProto n = g.Node[rng.Next(g.Node.Count)];
                if (n.Output.Count > 0)
                {
                    n.Output[0] = name;
                }
                return $"duplicate-name node '{n.Name}' output '{name}'";
            case 1 when g.Initializer.Count > 0:
                g.Initializer[rng.Next(g.Initializer.Count)].Name = name;
                return $"duplicate-name initializer '{name}'";
            case 2:
                g.Input.Add(new ValueInfoProto { Name = name });
                return $"duplicate-name input '{name}'";
            default:
                if (g.Node.Count > 1)
                {
                    g.Node[rng.Next(g.Node.Count)].Name = g.Node[rng.Next(g.Node.Count)].Name;
                }
                return "duplicate-name node name";
        }
    }

    private static string GhostOutput(ModelProto p, Random rng)
    {
        p.Graph.Output.Add(new ValueInfoProto { Name = "fuzz_ghost_" + rng.Next(100) });
        return "ghost-output";
    }

    private static string DeepNesting(ModelProto p, Random rng)
    {
        int depth = rng.Next(2) == 0 ? rng.Next(2, 20) : rng.Next(60, 160);
        var inner = new GraphProto { Name = "leaf" };
        inner.Node.Add(new NodeProto { OpType = "Identity", Input = { p.Graph.Input.FirstOrDefault()?.Name ?? "x" }, Output = { "leaf_out" } });
        inner.Output.Add(new ValueInfoProto { Name = "leaf_out" });
        var empty = new GraphProto { Name = "empty" };
        for (int i = 0; i < depth; i++)
        {
            // Only then_branch nests, so the file grows linearly with depth.
            var wrapper = new GraphProto { Name = $"level{i}" };
            var node = new NodeProto { OpType = "If", Name = $"if{i}", Input = { "fuzz_cond" }, Output = { $"o{i}" } };
            node.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttrType.Graph, G = inner });
            node.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttrType.Graph, G = empty });
            wrapper.Node.Add(node);
            wrapper.Output.Add(new ValueInfoProto { Name = $"o{i}" });
            inner = wrapper;
        }
        NodeProto top = inner.Node[0];
        top.Name = "fuzz_deep_if";
        top.Output[0] = "fuzz_deep_out";
        p.Graph.Input.Add(new ValueInfoProto { Name = "fuzz_cond", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 9, Shape = new TensorShapeProto() } } });
        p.Graph.Node.Add(top);
        p.Graph.Output.Add(new ValueInfoProto { Name = "fuzz_deep_out" });
        return $"deep-nesting {depth}";
    }

    private static string ValueInfoChange(ModelProto p, Random rng)
    {
        var infos = p.Graph.Input.Concat(p.Graph.Output).Concat(p.Graph.ValueInfo).ToList();
        if (Pick(infos, rng) is not { } vi)
        {
            return "value-info-change (none)";
        }
        switch (rng.Next(4))
        {
            case 0:
                vi.Type = null;
                return $"value-info-change '{vi.Name}' no type";
            case 1:
                vi.Type = new TypeProto { SequenceType = new TypeProto.Types.Sequence { ElemType = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } } };
                return $"value-info-change '{vi.Name}' sequence";
            case 2:
                if (vi.Type?.TensorType is { } tt)
                {
                    tt.ElemType = new[] { 0, 8, 99, -1, 11, 7 }[rng.Next(6)];
                }
                return $"value-info-change '{vi.Name}' elem type";
            default:
                if (vi.Type?.TensorType is { } t2)
                {
                    t2.Shape = new TensorShapeProto();
                    for (int i = rng.Next(0, 9); i > 0; i--)
                    {
                        t2.Shape.Dim.Add(rng.Next(3) == 0 ? new TensorShapeProto.Types.Dimension { DimParam = "S" + rng.Next(3) } : new TensorShapeProto.Types.Dimension { DimValue = HostileDim(rng) });
                    }
                }
                return $"value-info-change '{vi.Name}' rank";
        }
    }
}
