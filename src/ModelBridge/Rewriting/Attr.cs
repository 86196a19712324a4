using ModelBridge.Ir;

namespace ModelBridge.Rewriting;

/// <summary>Shorthands for building attributes of new nodes (see <see cref="AttributeValue"/>).</summary>
public static class Attr
{
    /// <summary>An int attribute.</summary>
    public static AttributeValue Int(string name, long value) => AttributeValue.Int(name, value);

    /// <summary>A float attribute.</summary>
    public static AttributeValue Float(string name, float value) => AttributeValue.Float(name, value);

    /// <summary>A string attribute.</summary>
    public static AttributeValue String(string name, string value) => AttributeValue.String(name, value);

    /// <summary>An ints attribute.</summary>
    public static AttributeValue Ints(string name, params long[] values) => AttributeValue.Ints(name, values);

    /// <summary>A floats attribute.</summary>
    public static AttributeValue Floats(string name, params float[] values) => AttributeValue.Floats(name, values);
}
