using ModelBridge.Errors;
using ModelBridge.OnnxProto;

namespace ModelBridge.Ir;

public sealed partial class Node
{
    /// <summary>The attributes, in file order.</summary>
    public IReadOnlyList<AttributeValue> Attributes => AttributeList;

    /// <summary>The attribute called <paramref name="name"/>, or null.</summary>
    public AttributeValue? FindAttribute(string name)
    {
        foreach (AttributeValue a in AttributeList)
        {
            if (a.Name == name)
            {
                return a;
            }
        }
        return null;
    }

    /// <summary>True when the node has an attribute called <paramref name="name"/>.</summary>
    public bool HasAttribute(string name) => FindAttribute(name) is not null;

    /// <summary>An int attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public long GetInt(string name, long defaultValue) => FindAttribute(name, AttributeKind.Int) is { } a ? a.AsInt() : defaultValue;

    /// <summary>An int attribute that must be present.</summary>
    public long GetInt(string name) => Require(name, AttributeKind.Int).AsInt();

    /// <summary>A float attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public float GetFloat(string name, float defaultValue) => FindAttribute(name, AttributeKind.Float) is { } a ? a.AsFloat() : defaultValue;

    /// <summary>A string attribute, or <paramref name="defaultValue"/> when absent.</summary>
    public string? GetString(string name, string? defaultValue = null) =>
        FindAttribute(name, AttributeKind.String) is { } a ? a.AsString() : defaultValue;

    /// <summary>An ints attribute, or null when absent.</summary>
    public long[]? GetInts(string name) => FindAttribute(name, AttributeKind.Ints) is { } a ? [.. a.AsInts()] : null;

    /// <summary>A floats attribute, or null when absent.</summary>
    public float[]? GetFloats(string name) => FindAttribute(name, AttributeKind.Floats) is { } a ? [.. a.AsFloats()] : null;

    /// <summary>A strings attribute, or null when absent.</summary>
    public string[]? GetStrings(string name) => FindAttribute(name, AttributeKind.Strings) is { } a ? [.. a.AsStrings()] : null;

    /// <summary>A tensor attribute (e.g. Constant's <c>value</c>) as a <see cref="Tensor"/>, or null when absent.</summary>
    public Tensor? GetTensor(string name) => FindAttribute(name, AttributeKind.Tensor)?.AsTensor(this);

    /// <summary>A graph attribute (If/Loop/Scan body) as loaded, or null when absent.</summary>
    internal GraphProto? GetGraph(string name) => FindAttribute(name, AttributeKind.Graph)?.Graph;

    /// <summary>True when any attribute holds a subgraph (If/Loop/Scan).</summary>
    public bool HasSubgraphs => AttributeList.Any(a => a.HasSubgraphs);

    // ---- edits (through GraphRewriter, the importer and test builders only) ----

    /// <summary>Sets (or replaces) an int attribute.</summary>
    internal void SetInt(string name, long value) => SetAttribute(AttributeValue.Int(name, value));

    /// <summary>Sets (or replaces) a float attribute.</summary>
    internal void SetFloat(string name, float value) => SetAttribute(AttributeValue.Float(name, value));

    /// <summary>Sets (or replaces) a string attribute.</summary>
    internal void SetString(string name, string value) => SetAttribute(AttributeValue.String(name, value));

    /// <summary>Sets (or replaces) an ints attribute.</summary>
    internal void SetInts(string name, IEnumerable<long> values) => SetAttribute(AttributeValue.Ints(name, [.. values]));

    /// <summary>Sets (or replaces) a floats attribute.</summary>
    internal void SetFloats(string name, IEnumerable<float> values) => SetAttribute(AttributeValue.Floats(name, [.. values]));

    /// <summary>Sets (or replaces) a tensor attribute.</summary>
    internal void SetTensor(string name, Tensor value) => SetAttribute(AttributeValue.FromTensor(name, value));

    /// <summary>Removes an attribute; returns false when it was absent.</summary>
    internal bool RemoveAttribute(string name)
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

    /// <summary>Sets (or replaces) an attribute.</summary>
    internal void SetAttribute(AttributeValue attribute)
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

    private AttributeValue? FindAttribute(string name, AttributeKind expected)
    {
        AttributeValue? a = FindAttribute(name);
        if (a is null)
        {
            return null;
        }
        if (a.Kind != expected)
        {
            ThrowHelper.InvalidModel($"Node '{Name}' ({OpType}): attribute '{name}' has type {a.Kind}, expected {expected}.", Name, OpType);
        }
        if (!a.HasPayload)
        {
            ThrowHelper.InvalidModel($"Node '{Name}' ({OpType}): attribute '{name}' is declared {expected} but holds no value.", Name, OpType);
        }
        return a;
    }

    private AttributeValue Require(string name, AttributeKind expected) =>
        FindAttribute(name, expected) ?? ThrowHelper.InvalidModel<AttributeValue>($"Node '{Name}' ({OpType}): required attribute '{name}' is missing.", Name, OpType);
}
