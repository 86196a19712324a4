using System.Collections.Immutable;
using ModelBridge.Ir;

namespace ModelBridge.Shapes;

/// <summary>
/// The partially known contents of a small integer tensor: a static tensor shape and one
/// <see cref="Dim"/> per element (a number, a symbol such as <c>N</c>, or unknown).
/// </summary>
/// <remarks>
/// Elements are dimensions because the tensors tracked are almost always shapes: <c>Shape(x)</c>
/// of an input shaped <c>[N,3]</c> is <c>[N,3]</c>, and that symbol survives Gather, Concat and
/// Reshape so that the consumer's output shape can still say <c>N</c>.
/// </remarks>
internal sealed class ShapeValue
{
    public ShapeValue(long[] dims, ImmutableArray<Dim> elements)
    {
        Dims = dims;
        Elements = elements;
    }

    /// <summary>The tensor's shape.</summary>
    public long[] Dims { get; }

    /// <summary>Elements in row-major order.</summary>
    public ImmutableArray<Dim> Elements { get; }

    /// <summary>Number of elements.</summary>
    public int Count => Elements.Length;

    public static ShapeValue Vector(IEnumerable<Dim> elements)
    {
        ImmutableArray<Dim> e = [.. elements];
        return new ShapeValue([e.Length], e);
    }

    public static ShapeValue Scalar(Dim element) => new([], [element]);

    public static ShapeValue FromInts(long[] dims, IEnumerable<long> values) => new(dims, [.. values.Select(Dim.Of)]);

    /// <summary>All elements as numbers, when every one is known.</summary>
    public bool TryGetKnown(out long[] values)
    {
        values = new long[Elements.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (Elements[i].Value is not long v)
            {
                values = [];
                return false;
            }
            values[i] = v;
        }
        return true;
    }

    public override string ToString() => "[" + string.Join(",", Elements) + "]";
}
