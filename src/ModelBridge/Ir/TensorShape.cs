using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace ModelBridge.Ir;

/// <summary>One dimension of a shape: a known size, a named symbol (<c>N</c>), or unknown.</summary>
public readonly record struct Dim
{
    private Dim(long? value, string? symbol)
    {
        Value = value;
        Symbol = symbol;
    }

    /// <summary>The size, when known.</summary>
    public long? Value { get; }

    /// <summary>The symbol, when the size is symbolic.</summary>
    public string? Symbol { get; }

    /// <summary>True when the size is a number.</summary>
    public bool IsKnown => Value.HasValue;

    /// <summary>An unknown dimension (no value, no symbol).</summary>
    public static Dim Unknown => default;

    /// <summary>A known dimension.</summary>
    public static Dim Of(long value) => new(value, null);

    /// <summary>A symbolic dimension.</summary>
    public static Dim Sym(string symbol)
    {
        ArgumentException.ThrowIfNullOrEmpty(symbol);
        return new(null, symbol);
    }

    /// <summary>Implicit conversion from a known size.</summary>
    public static implicit operator Dim(long value) => Of(value);

    /// <inheritdoc/>
    public override string ToString() => Value?.ToString(CultureInfo.InvariantCulture) ?? Symbol ?? "?";
}

/// <summary>An immutable tensor shape whose dimensions may be known, symbolic or unknown.</summary>
public sealed class TensorShape : IEquatable<TensorShape>
{
    /// <summary>Creates a shape.</summary>
    public TensorShape(IEnumerable<Dim> dims) => Dims = [.. dims];

    /// <summary>The dimensions, outermost first.</summary>
    public ImmutableArray<Dim> Dims { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Dims.Length;

    /// <summary>True when every dimension is a number.</summary>
    public bool IsStatic => Dims.All(d => d.IsKnown);

    /// <summary>A static shape from sizes.</summary>
    public static TensorShape Of(params long[] dims) => new(dims.Select(Dim.Of));

    /// <summary>The sizes, when every dimension is known.</summary>
    public bool TryGetStatic(out long[] dims)
    {
        dims = new long[Rank];
        for (int i = 0; i < Rank; i++)
        {
            if (Dims[i].Value is not long v)
            {
                return false;
            }
            dims[i] = v;
        }
        return true;
    }

    /// <summary>Product of the sizes, or null when any is not known.</summary>
    /// <exception cref="OverflowException">The product does not fit in 64 bits (loading and shape inference refuse such shapes).</exception>
    public long? ElementCount => TryGetStatic(out long[] d) ? (d.Contains(0) ? 0 : d.Aggregate(1L, (a, b) => checked(a * b))) : null;

    /// <inheritdoc/>
    public bool Equals(TensorShape? other) => other is not null && Dims.SequenceEqual(other.Dims);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as TensorShape);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        HashCode h = default;
        foreach (Dim d in Dims)
        {
            h.Add(d);
        }
        return h.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < Rank; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }
            sb.Append(Dims[i].ToString());
        }
        return sb.Append(']').ToString();
    }
}

/// <summary>The type of a tensor value: element type and (possibly unknown) shape.</summary>
/// <param name="ElementType">Element type.</param>
/// <param name="Shape">Shape, or null when even the rank is unknown.</param>
public sealed record TensorType(DataType ElementType, TensorShape? Shape)
{
    /// <inheritdoc/>
    public override string ToString() => $"{DataTypes.OnnxName(ElementType)}{Shape?.ToString() ?? "[?]"}";
}
