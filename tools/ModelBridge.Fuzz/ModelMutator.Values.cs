using Google.Protobuf;
using ModelBridge.OnnxProto;
using AttrType = ModelBridge.OnnxProto.AttributeProto.Types.AttributeType;

namespace ModelBridge.Fuzz;

/// <remarks>Mutations of attribute values, tensor payloads and input order.</remarks>
internal static partial class ModelMutator
{
    private static readonly long[] HostileInts = [0, -1, -2, 1, 2, 3, 99, -99, 1L << 33, long.MaxValue, long.MinValue];

    private static readonly float[] HostileFloats = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, -1f, 1e38f, 1e-45f];

    /// <summary>Sets an existing numeric attribute to a hostile value (group 0, stride 0, axis 99, NaN epsilon, ...).</summary>
    private static string AttributeValue(ModelProto p, Random rng)
    {
        var attrs = p.Graph.Node.SelectMany(n => n.Attribute.Select(a => (n, a)))
            .Where(x => Node(x.a) is AttrType.Int or AttrType.Ints or AttrType.Float or AttrType.Floats).ToList();
        if (attrs.Count == 0)
        {
            return "attribute-value (none)";
        }
        var (node, a) = attrs[rng.Next(attrs.Count)];
        switch (Node(a))
        {
            case AttrType.Int:
                a.I = HostileInts[rng.Next(HostileInts.Length)];
                return $"attribute-value '{node.Name}'.{a.Name} = {a.I}";
            case AttrType.Float:
                a.F = HostileFloats[rng.Next(HostileFloats.Length)];
                return $"attribute-value '{node.Name}'.{a.Name} = {a.F}";
            case AttrType.Ints:
                if (a.Ints.Count == 0 || rng.Next(4) == 0)
                {
                    a.Ints.Add(HostileInts[rng.Next(HostileInts.Length)]);
                }
                else if (rng.Next(3) == 0)
                {
                    a.Ints.RemoveAt(rng.Next(a.Ints.Count));
                }
                else
                {
                    a.Ints[rng.Next(a.Ints.Count)] = HostileInts[rng.Next(HostileInts.Length)];
                }
                return $"attribute-value '{node.Name}'.{a.Name} = [{string.Join(",", a.Ints)}]";
            default:
                if (a.Floats.Count == 0)
                {
                    a.Floats.Add(HostileFloats[rng.Next(HostileFloats.Length)]);
                }
                else
                {
                    a.Floats[rng.Next(a.Floats.Count)] = HostileFloats[rng.Next(HostileFloats.Length)];
                }
                return $"attribute-value '{node.Name}'.{a.Name} floats";
        }

        static AttrType Node(AttributeProto a) => a.Type;
    }

    /// <summary>Gives an initializer new small dims and a payload that matches them, so loading succeeds and passes see odd shapes.</summary>
    private static string TensorReshape(ModelProto p, Random rng)
    {
        var candidates = p.Graph.Initializer.Where(t => t.RawData.Length > 0).ToList();
        if (Pick(candidates, rng) is not { } t)
        {
            return "tensor-reshape (none)";
        }
        int elementSize = t.DataType switch
        {
            1 or 6 or 12 => 4,
            7 or 11 or 13 => 8,
            10 or 16 or 4 or 5 => 2,
            2 or 3 or 9 => 1,
            _ => 0,
        };
        if (elementSize == 0)
        {
            return "tensor-reshape (unsized type)";
        }
        t.Dims.Clear();
        long count = 1;
        for (int i = rng.Next(0, 6); i > 0; i--)
        {
            long d = rng.Next(0, 6);
            t.Dims.Add(d);
            count *= d;
        }
        byte[] payload = new byte[count * elementSize];
        rng.NextBytes(payload);
        t.RawData = ByteString.CopyFrom(payload);
        return $"tensor-reshape '{t.Name}' [{string.Join(",", t.Dims)}]";
    }

    /// <summary>Overwrites some elements of an initializer with hostile values of its own type (NaN, infinities, extremes, zero).</summary>
    private static string TensorValues(ModelProto p, Random rng)
    {
        var candidates = p.Graph.Initializer.Where(t => t.RawData.Length > 0 && t.DataType is 1 or 7 or 6).ToList();
        if (Pick(candidates, rng) is not { } t)
        {
            return "tensor-values (none)";
        }
        byte[] raw = t.RawData.ToByteArray();
        int size = t.DataType == 7 ? 8 : 4;
        int n = raw.Length / size;
        for (int k = rng.Next(1, 5); k > 0 && n > 0; k--)
        {
            int at = rng.Next(n) * size;
            byte[] value = t.DataType switch
            {
                1 => BitConverter.GetBytes(HostileFloats[rng.Next(HostileFloats.Length)]),
                7 => BitConverter.GetBytes(HostileInts[rng.Next(HostileInts.Length)]),
                _ => BitConverter.GetBytes((int)HostileInts[rng.Next(HostileInts.Length)]),
            };
            value.CopyTo(raw, at);
        }
        t.RawData = ByteString.CopyFrom(raw);
        return $"tensor-values '{t.Name}'";
    }

    private static string SwapInputs(ModelProto p, Random rng)
    {
        var nodes = p.Graph.Node.Where(n => n.Input.Count >= 2).ToList();
        if (Pick(nodes, rng) is not { } node)
        {
            return "swap-inputs (none)";
        }
        int i = rng.Next(node.Input.Count), j = rng.Next(node.Input.Count);
        (node.Input[i], node.Input[j]) = (node.Input[j], node.Input[i]);
        return $"swap-inputs '{node.Name}' {i}<->{j}";
    }
}
