using System.Text;
using Google.Protobuf;
using ModelBridge.OnnxProto;
using AttrType = ModelBridge.OnnxProto.AttributeProto.Types.AttributeType;

namespace ModelBridge.Rewriting;

/// <summary>Shorthands for building attributes of new nodes.</summary>
public static class Attr
{
    /// <summary>An int attribute.</summary>
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttrType.Int, I = value };

    /// <summary>A float attribute.</summary>
    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttrType.Float, F = value };

    /// <summary>A string attribute.</summary>
    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttrType.String, S = ByteString.CopyFrom(value, Encoding.UTF8) };

    /// <summary>An ints attribute.</summary>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Ints };
        a.Ints.Add(values);
        return a;
    }
}
