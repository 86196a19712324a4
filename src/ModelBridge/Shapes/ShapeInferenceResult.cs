using System.Collections.Immutable;
using ModelBridge.Ir;

namespace ModelBridge.Shapes;

/// <summary>What <see cref="ShapeInference.Run"/> found: unknown shapes, evaluated shape values and warnings.</summary>
public sealed class ShapeInferenceResult
{
    private readonly IReadOnlyDictionary<Value, ShapeValue> _values;

    internal ShapeInferenceResult(IReadOnlyList<Value> unknownShapes, int inferredCount, IReadOnlyList<string> warnings,
        IReadOnlyDictionary<Value, ShapeValue> values)
    {
        UnknownShapes = unknownShapes;
        InferredCount = inferredCount;
        Warnings = warnings;
        _values = values;
    }

    /// <summary>
    /// Node outputs whose shape is not fully determined: unknown type or rank, or a dimension that is
    /// neither a number nor a symbol.
    /// </summary>
    public IReadOnlyList<Value> UnknownShapes { get; }

    /// <summary>Number of node outputs that inference gave a type of known rank.</summary>
    public int InferredCount { get; }

    /// <summary>Things inference could not handle (unsupported operators, non-constant shape inputs).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>
    /// The values of a small integer tensor (an initializer, a <c>Constant</c>, or a chain of shape
    /// arithmetic such as <c>Concat(Gather(Shape(x), 0), [-1])</c>) when every element is known,
    /// flattened in row-major order.
    /// </summary>
    /// <param name="value">A value of the graph that was inferred.</param>
    /// <param name="values">The elements, or an empty array when the method returns false.</param>
    /// <returns>True when every element of <paramref name="value"/> was evaluated to a number.</returns>
    public bool TryGetConstantValue(Value value, out long[] values)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (_values.TryGetValue(value, out ShapeValue? v) && v.TryGetKnown(out values))
        {
            return true;
        }
        values = [];
        return false;
    }

    /// <summary>
    /// The elements of a small integer tensor as dimensions, which may be symbolic or unknown
    /// (e.g. <c>Shape(x)</c> of an input shaped <c>[N,3]</c> gives <c>[N,3]</c>).
    /// </summary>
    /// <param name="value">A value of the graph that was inferred.</param>
    /// <param name="elements">The elements, or empty when the method returns false.</param>
    /// <returns>True when the value is tracked (its element count is known and small).</returns>
    public bool TryGetSymbolicValue(Value value, out ImmutableArray<Dim> elements)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (_values.TryGetValue(value, out ShapeValue? v))
        {
            elements = v.Elements;
            return true;
        }
        elements = [];
        return false;
    }
}
