using System.Buffers;
using ModelBridge.Errors;

namespace ModelBridge.Onnx;

/// <summary>
/// Minimal protobuf wire-format walker used to find initializer payloads without copying them.
/// </summary>
internal ref struct WireReader
{
    public const int WireVarint = 0;
    public const int WireFixed64 = 1;
    public const int WireLengthDelimited = 2;
    public const int WireStartGroup = 3;
    public const int WireEndGroup = 4;
    public const int WireFixed32 = 5;

    private readonly ReadOnlySpan<byte> _data;
    private readonly string _context;

    public WireReader(ReadOnlySpan<byte> data, int position, string context)
    {
        _data = data;
        Position = position;
        _context = context;
    }

    public int Position { get; private set; }

    public readonly bool AtEnd(int end) => Position >= end;

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (Position >= _data.Length)
            {
                Truncated();
            }
            byte b = _data[Position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
        ThrowHelper.InvalidModel($"Malformed protobuf in {_context}: varint longer than 10 bytes at byte {Position}.");
        return 0;
    }

    /// <summary>Reads a tag; returns field number and wire type.</summary>
    public (int Field, int WireType) ReadTag()
    {
        int start = Position;
        ulong tag = ReadVarint();
        int field = (int)(tag >> 3);
        int wire = (int)(tag & 7);
        if (field <= 0 || tag >> 3 > 536_870_911)
        {
            ThrowHelper.InvalidModel($"Malformed protobuf in {_context}: invalid field number {tag >> 3} at byte {start}.");
        }
        return (field, wire);
    }

    /// <summary>Reads a length prefix and returns the payload's [start, end).</summary>
    public (int Start, int End) ReadLengthDelimited(int limit)
    {
        ulong len = ReadVarint();
        if (len > (ulong)(limit - Position))
        {
            ThrowHelper.InvalidModel($"Malformed protobuf in {_context}: a field claims {len} bytes at byte {Position} but only {limit - Position} remain (truncated file?).");
        }
        int start = Position;
        Position += (int)len;
        return (start, Position);
    }

    /// <summary>Skips the value of a field of the given wire type.</summary>
    public void Skip(int field, int wireType, int limit, int depth = 0)
    {
        switch (wireType)
        {
            case WireVarint:
                ReadVarint();
                break;
            case WireFixed64:
                Advance(8, limit);
                break;
            case WireFixed32:
                Advance(4, limit);
                break;
            case WireLengthDelimited:
                ReadLengthDelimited(limit);
                break;
            case WireStartGroup:
                if (depth > 64)
                {
                    ThrowHelper.InvalidModel($"Malformed protobuf in {_context}: groups nested too deeply.");
                }
                while (true)
                {
                    if (Position >= limit)
                    {
                        Truncated();
                    }
                    var (f, w) = ReadTag();
                    if (w == WireEndGroup)
                    {
                        if (f != field)
                        {
                            ThrowHelper.InvalidModel($"Malformed protobuf in {_context}: end-group tag {f} does not match start-group {field}.");
                        }
                        break;
                    }
                    Skip(f, w, limit, depth + 1);
                }
                break;
            default:
                ThrowHelper.InvalidModel($"Malformed protobuf in {_context}: invalid wire type {wireType} for field {field} at byte {Position}.");
                break;
        }
        if (Position > limit)
        {
            Truncated();
        }
    }

    private void Advance(int n, int limit)
    {
        if (limit - Position < n)
        {
            Truncated();
        }
        Position += n;
    }

    private readonly void Truncated() =>
        ThrowHelper.InvalidModel($"Malformed protobuf in {_context}: data ends in the middle of a field at byte {Position} (truncated file?).");

    /// <summary>Appends bytes [start, end) of the source to <paramref name="sink"/>.</summary>
    public readonly void CopyTo(IBufferWriter<byte> sink, int start, int end) => sink.Write(_data[start..end]);
}
