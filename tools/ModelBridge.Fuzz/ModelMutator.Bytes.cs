using Google.Protobuf;
using ModelBridge.OnnxProto;
using AttrType = ModelBridge.OnnxProto.AttributeProto.Types.AttributeType;

namespace ModelBridge.Fuzz;

/// <remarks>Byte-level damage: bit flips, truncation, a duplicated length-delimited field.</remarks>
internal static partial class ModelMutator
{
    // ---- byte level -------------------------------------------------------------------------

    private static (byte[], string) BitFlip(byte[] model, Random rng)
    {
        if (model.Length == 0)
        {
            return (model, "bit-flip (empty)");
        }
        byte[] copy = (byte[])model.Clone();
        int flips = rng.Next(1, 9);
        var at = new List<int>(flips);
        for (int i = 0; i < flips; i++)
        {
            int pos = rng.Next(copy.Length);
            copy[pos] ^= (byte)(1 << rng.Next(8));
            at.Add(pos);
        }
        return (copy, $"bit-flip at {string.Join(",", at)}");
    }

    private static (byte[], string) Truncate(byte[] model, Random rng)
    {
        int keep = model.Length == 0 ? 0 : rng.Next(model.Length);
        return (model[..keep], $"truncate to {keep} of {model.Length} bytes");
    }

    /// <summary>A field of a serialized message: [Start, End), the tag's end, and the payload start for length-delimited fields.</summary>
    private readonly record struct WireField(int Start, int TagEnd, int PayloadStart, int End, int Number, int WireType);

    /// <summary>Appends a copy of a field to its message, at the top level or inside a nested message.</summary>
    private static (byte[], string) DuplicateField(byte[] model, Random rng)
    {
        var path = new List<int>();
        byte[]? result = DuplicateIn(model, rng, 0, path);
        return result is null ? BitFlip(model, rng) : (result, $"duplicate-field at field path {string.Join("/", path)}");
    }

    private static byte[]? DuplicateIn(byte[] message, Random rng, int depth, List<int> path)
    {
        List<WireField>? fields = Fields(message);
        if (fields is null || fields.Count == 0)
        {
            return null;
        }
        var nested = fields.Where(f => f.WireType == 2 && Fields(message.AsSpan(f.PayloadStart, f.End - f.PayloadStart).ToArray()) is { Count: > 0 }).ToList();
        if (nested.Count > 0 && depth < 4 && rng.Next(3) != 0)
        {
            WireField f = nested[rng.Next(nested.Count)];
            path.Add(f.Number);
            byte[]? inner = DuplicateIn(message[f.PayloadStart..f.End], rng, depth + 1, path);
            if (inner is not null)
            {
                using var ms = new MemoryStream();
                ms.Write(message, 0, f.TagEnd);
                WriteVarint(ms, (ulong)inner.Length);
                ms.Write(inner);
                ms.Write(message, f.End, message.Length - f.End);
                return ms.ToArray();
            }
            path.RemoveAt(path.Count - 1);
        }
        var delimited = fields.Where(f => f.WireType == 2).ToList();
        WireField copy = delimited.Count > 0 ? delimited[rng.Next(delimited.Count)] : fields[rng.Next(fields.Count)];
        path.Add(copy.Number);
        return [.. message, .. message.AsSpan(copy.Start, copy.End - copy.Start)];
    }

    /// <summary>The top-level fields of a message, or null when it is not well-formed wire data.</summary>
    private static List<WireField>? Fields(byte[] data)
    {
        var fields = new List<WireField>();
        int pos = 0;
        while (pos < data.Length)
        {
            int start = pos;
            if (!TryVarint(data, ref pos, out ulong tag) || tag >> 3 == 0 || tag >> 3 > 536_870_911)
            {
                return null;
            }
            int tagEnd = pos;
            int wire = (int)(tag & 7);
            int payload = pos;
            switch (wire)
            {
                case 0:
                    if (!TryVarint(data, ref pos, out _))
                    {
                        return null;
                    }
                    break;
                case 1:
                    pos += 8;
                    break;
                case 5:
                    pos += 4;
                    break;
                case 2:
                    if (!TryVarint(data, ref pos, out ulong len) || len > (ulong)(data.Length - pos))
                    {
                        return null;
                    }
                    payload = pos;
                    pos += (int)len;
                    break;
                default:
                    return null;
            }
            if (pos > data.Length)
            {
                return null;
            }
            fields.Add(new WireField(start, tagEnd, payload, pos, (int)(tag >> 3), wire));
        }
        return fields;
    }

    private static bool TryVarint(byte[] data, ref int pos, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64 && pos < data.Length; shift += 7)
        {
            byte b = data[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }
        return false;
    }

    private static void WriteVarint(Stream s, ulong v)
    {
        while (v >= 0x80)
        {
            s.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }
        s.WriteByte((byte)v);
    }
}
