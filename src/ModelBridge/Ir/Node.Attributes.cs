using System.Text;
using Google.Protobuf;
using ModelBridge.Errors;
using ModelBridge.OnnxProto;
using AttrType = ModelBridge.OnnxProto.AttributeProto.Types.AttributeType;

namespace ModelBridge.Ir;

public sealed partial class Node
{
    /// <summary>True when the node has an attribute called <paramref name="name"/>.</summary>
    public bool HasAttribute(string name) => FindAttribute(name) is not null;

    /// <summary>An int attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public long GetInt(string name, long defaultValue) => FindAttribute(name, AttrType.Int) is { } a ? a.I : defaultValue;

    /// <summary>An int attribute that must be present.</summary>
    public long GetInt(string name) => Require(name, AttrType.Int).I;

    /// <summary>A float attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public float GetFloat(string name, float defaultValue) => FindAttribute(name, AttrType.Float) is { } a ? a.F : defaultValue;

    /// <summary>A string attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public string? GetString(string name, string? defaultValue = null) =>
        FindAttribute(name, AttrType.String) is { } a ? a.S.ToStringUtf8() : defaultValue;

    /// <summary>An ints attribute, or null when absent.</summary>
    public long[]? GetInts(string name) => FindAttribute(name, AttrType.Ints) is { } a ? [.. a.Ints] : null;

    /// <summary>A floats attribute, or null when absent.</summary>
    public float[]? GetFloats(string name) => FindAttribute(name, AttrType.Floats) is { } a ? [.. a.Floats] : null;

    /// <summary>A strings attribute, or null when absent.</summary>
    public string[]? GetStrings(string name) =>
        FindAttribute(name, AttrType.Strings) is { } a ? [.. a.Strings.Select(s => s.ToStringUtf8())] : null;

    /// <summary>A tensor attribute (e.g. Constant's <c>value</c>) as a <see cref="Tensor"/>, or null when absent.</summary>
    public Tensor? GetTensor(string name) =>
        FindAttribute(name, AttrType.Tensor) is { } a ? Onnx.OnnxImporter.TensorFromProto(a.T, null, null, this) : null;

    /// <summary>A graph attribute (If/Loop/Scan body) as protobuf, or null when absent.</summary>
    public GraphProto? GetGraph(string name) => FindAttribute(name, AttrType.Graph)?.G;

    /// <summary>Sets (or replaces) an int attribute.</summary>
    public void SetInt(string name, long value) => SetAttribute(new AttributeProto { Name = name, Type = AttrType.Int, I = value });

    /// <summary>Sets (or replaces) a float attribute.</summary>
    public void SetFloat(string name, float value) => SetAttribute(new AttributeProto { Name = name, Type = AttrType.Float, F = value });

    /// <summary>Sets (or replaces) a string attribute.</summary>
    public void SetString(string name, string value) =>
        SetAttribute(new AttributeProto { Name = name, Type = AttrType.String, S = ByteString.CopyFrom(value, Encoding.UTF8) });

    /// <summary>Sets (or replaces) an ints attribute.</summary>
    public void SetInts(string name, IEnumerable<long> values)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Ints };
        a.Ints.Add(values);
        SetAttribute(a);
    }

    /// <summary>Sets (or replaces) a floats attribute.</summary>
    public void SetFloats(string name, IEnumerable<float> values)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Floats };
        a.Floats.Add(values);
        SetAttribute(a);
    }

    /// <summary>Sets (or replaces) a tensor attribute.</summary>
    public void SetTensor(string name, Tensor value)
    {
        var a = new AttributeProto { Name = name, Type = AttrType.Tensor, T = value.ToProto(string.Empty) };
        a.T.ClearName();
        SetAttribute(a);
    }

    /// <summary>Removes an attribute; returns false when it was absent.</summary>
    public bool RemoveAttribute(string name)
    {
        int i = AttributeList.FindIndex(a => a.Name == name);
        if (i < 0)
        {
            return false;
        }
        AttributeList.RemoveAt(i);
        Graph.MarkChanged();
        return true;
    }

    /// <summary>Sets (or replaces) an attribute given as protobuf.</summary>
    public void SetAttribute(AttributeProto attribute)
    {
        ArgumentNullException.ThrowIfNull(attribute);
        int i = AttributeList.FindIndex(a => a.Name == attribute.Name);
        if (i >= 0)
        {
            AttributeList[i] = attribute;
        }
        else
        {
            AttributeList.Add(attribute);
        }
        Graph.MarkChanged();
    }

    private AttributeProto? FindAttribute(string name)
    {
        foreach (AttributeProto a in AttributeList)
        {
            if (a.Name == name)
            {
                return a;
            }
        }
        return null;
    }

    private AttributeProto? FindAttribute(string name, AttrType expected)
    {
        AttributeProto? a = FindAttribute(name);
        if (a is null)
        {
            return null;
        }
        AttrType actual = EffectiveType(a);
        if (actual != expected)
        {
            ThrowHelper.InvalidModel($"Node '{Name}' ({OpType}): attribute '{name}' has type {actual}, expected {expected}.", Name, OpType);
        }
        if ((expected == AttrType.Tensor && a.T is null) || (expected == AttrType.Graph && a.G is null))
        {
            ThrowHelper.InvalidModel($"Node '{Name}' ({OpType}): attribute '{name}' is declared {expected} but holds no value.", Name, OpType);
        }
        return a;
    }

    private AttributeProto Require(string name, AttrType expected) =>
        FindAttribute(name, expected) ?? ThrowHelper.InvalidModel<AttributeProto>($"Node '{Name}' ({OpType}): required attribute '{name}' is missing.", Name, OpType);

    /// <summary>The attribute's type; infers it from the populated field for IR v1 files that lack <c>type</c>.</summary>
    internal static AttrType EffectiveType(AttributeProto a)
    {
        if (a.HasType && a.Type != AttrType.Undefined)
        {
            return a.Type;
        }
        if (a.HasF) return AttrType.Float;
        if (a.HasI) return AttrType.Int;
        if (a.HasS) return AttrType.String;
        if (a.T is not null) return AttrType.Tensor;
        if (a.G is not null) return AttrType.Graph;
        if (a.Floats.Count > 0) return AttrType.Floats;
        if (a.Ints.Count > 0) return AttrType.Ints;
        if (a.Strings.Count > 0) return AttrType.Strings;
        if (a.Tensors.Count > 0) return AttrType.Tensors;
        if (a.Graphs.Count > 0) return AttrType.Graphs;
        return AttrType.Undefined;
    }
}
