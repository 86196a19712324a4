using System.Buffers;
using Google.Protobuf;
using ModelBridge.Errors;
using ModelBridge.OnnxProto;

namespace ModelBridge.Onnx;

/// <summary>An initializer as found in the file: its fields minus raw_data, and where raw_data sits.</summary>
internal readonly record struct InitializerRecord(TensorProto Meta, int RawStart, int RawLength, bool HasRaw);

/// <summary>
/// Parses a serialized ModelProto while leaving the main graph's initializer payloads in place.
/// </summary>
/// <remarks>
/// The model, graph and tensor messages are walked at the wire level; every field except
/// <c>graph.initializer[i].raw_data</c> is handed to the generated parser (so unknown fields
/// survive), and each raw_data is recorded as an offset into the source buffer. Concatenating a
/// message's fields is protobuf merge semantics, so repeated occurrences are handled as the
/// reference implementation handles them.
/// </remarks>
internal static class OnnxReader
{
    private const int ModelGraphField = 7;
    private const int GraphInitializerField = 5;
    private const int TensorRawDataField = 9;

    public static (ModelProto Model, List<InitializerRecord> Initializers) Parse(ReadOnlySpan<byte> data, string context)
    {
        if (data.IsEmpty)
        {
            ThrowHelper.InvalidModel($"'{context}' is empty: not an ONNX model.");
        }
        var modelRest = new ArrayBufferWriter<byte>(256);
        var graphRest = new ArrayBufferWriter<byte>(4096);
        var tensorRest = new ArrayBufferWriter<byte>(256);
        var inits = new List<InitializerRecord>();
        bool hasGraph = false;
        var r = new WireReader(data, 0, context);
        while (!r.AtEnd(data.Length))
        {
            int fieldStart = r.Position;
            var (field, wire) = r.ReadTag();
            if (field == ModelGraphField && wire == WireReader.WireLengthDelimited)
            {
                var (s, e) = r.ReadLengthDelimited(data.Length);
                hasGraph = true;
                ParseGraph(data, s, e, graphRest, tensorRest, inits, context);
                continue;
            }
            r.Skip(field, wire, data.Length);
            r.CopyTo(modelRest, fieldStart, r.Position);
        }
        try
        {
            ModelProto model = ModelProto.Parser.ParseFrom(modelRest.WrittenSpan);
            if (hasGraph)
            {
                model.Graph = GraphProto.Parser.ParseFrom(graphRest.WrittenSpan);
            }
            return (model, inits);
        }
        catch (InvalidProtocolBufferException ex)
        {
            ThrowHelper.InvalidModel($"Malformed protobuf in {context}: {ex.Message}", inner: ex);
            return default;
        }
    }

    private static void ParseGraph(ReadOnlySpan<byte> data, int start, int end, ArrayBufferWriter<byte> graphRest,
        ArrayBufferWriter<byte> tensorRest, List<InitializerRecord> inits, string context)
    {
        var r = new WireReader(data, start, context);
        while (!r.AtEnd(end))
        {
            int fieldStart = r.Position;
            var (field, wire) = r.ReadTag();
            if (field == GraphInitializerField && wire == WireReader.WireLengthDelimited)
            {
                var (s, e) = r.ReadLengthDelimited(end);
                inits.Add(ParseTensor(data, s, e, tensorRest, context));
                continue;
            }
            r.Skip(field, wire, end);
            r.CopyTo(graphRest, fieldStart, r.Position);
        }
    }

    private static InitializerRecord ParseTensor(ReadOnlySpan<byte> data, int start, int end, ArrayBufferWriter<byte> rest, string context)
    {
        rest.ResetWrittenCount();
        int rawStart = 0, rawLength = 0;
        bool hasRaw = false;
        var r = new WireReader(data, start, context);
        while (!r.AtEnd(end))
        {
            int fieldStart = r.Position;
            var (field, wire) = r.ReadTag();
            if (field == TensorRawDataField && wire == WireReader.WireLengthDelimited)
            {
                var (s, e) = r.ReadLengthDelimited(end);
                (rawStart, rawLength, hasRaw) = (s, e - s, true);
                continue;
            }
            r.Skip(field, wire, end);
            r.CopyTo(rest, fieldStart, r.Position);
        }
        try
        {
            return new InitializerRecord(TensorProto.Parser.ParseFrom(rest.WrittenSpan), rawStart, rawLength, hasRaw);
        }
        catch (InvalidProtocolBufferException ex)
        {
            ThrowHelper.InvalidModel($"Malformed protobuf in an initializer of {context}: {ex.Message}", inner: ex);
            return default;
        }
    }
}
