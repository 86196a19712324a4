using ModelBridge.Ir;

namespace ModelBridge.Rewriting;

/// <summary>Read-only helpers that patterns use in <c>Match</c>.</summary>
public static class Patterns
{
    /// <summary>The largest channel count <see cref="PerChannel"/> expands a scalar to (2^24).</summary>
    public const long MaxExpandedChannels = 1 << 24;

    /// <summary>The single node reading <paramref name="v"/>, when it has exactly one reader and is not a graph output.</summary>
    public static Node? SoleConsumer(Value? v) =>
        v is { IsGraphOutput: false } && v.Uses.Count == 1 && !v.Uses[0].IsImplicit ? v.Uses[0].Node : null;

    /// <summary>The producer of <paramref name="v"/> when it is a live standard-domain node of type <paramref name="op"/>.</summary>
    public static Node? ProducedBy(Value? v, string op) =>
        v?.Producer is { IsAlive: true, IsStandardDomain: true } p && p.OpType == op ? p : null;

    /// <summary>The constant payload of an input as floats, or null when it is not a float constant.</summary>
    public static float[]? ConstFloats(Value? v) =>
        Constants.Of(v) is { } t && DataTypes.IsFloatingPoint(t.DataType) && DataTypes.IsConvertible(t.DataType) ? t.ToFloatArray() : null;

    /// <summary>The constant payload of an input as int64s, or null when it is not an integer constant.</summary>
    public static long[]? ConstInts(Value? v) =>
        Constants.Of(v) is { } t && t.DataType is DataType.Int64 or DataType.Int32 ? t.ToInt64Array() : null;

    /// <summary>True when every element equals <paramref name="x"/>.</summary>
    public static bool AllEqual(float[] values, float x) => Array.TrueForAll(values, v => v == x);

    /// <summary>
    /// Why new Mul/Add nodes cannot broadcast in <paramref name="graph"/>, or null when they can:
    /// before opset 7 binary ops broadcast only with the legacy <c>broadcast</c> attribute.
    /// </summary>
    public static string? LegacyBroadcastReason(IReadOnlyGraph graph) =>
        (graph.OpsetVersion("") ?? 7) < 7 ? "before opset 7, Mul/Add broadcast only with the legacy 'broadcast' attribute" : null;

    /// <summary>The other input of a binary node (given one input).</summary>
    public static Value? OtherInput(Node binary, Value one) =>
        binary.Inputs.Count == 2 ? (binary.Inputs[0] == one ? binary.Inputs[1] : binary.Inputs[1] == one ? binary.Inputs[0] : null) : null;

    /// <summary>
    /// Per-channel values of a constant broadcast against a rank-<paramref name="rank"/> NC... tensor
    /// with <paramref name="channels"/> channels: shapes [C,1,..], [1,C,1,..], [C] for rank 2, or a
    /// scalar-like [1,..] (expanded to C copies). Null when the constant is not of such a shape.
    /// </summary>
    /// <remarks>Channel counts above <see cref="MaxExpandedChannels"/> give null: a broadcast scalar is never expanded that far.</remarks>
    public static float[]? PerChannel(Value? v, long channels, int rank)
    {
        if (Constants.Of(v) is not { } t || !DataTypes.IsFloatingPoint(t.DataType) || !DataTypes.IsConvertible(t.DataType))
        {
            return null;
        }
        if (channels is < 1 or > MaxExpandedChannels)
        {
            return null; // Channel counts come from declared shapes; never materialise an absurd one.
        }
        long[] dims = [.. t.Dims];
        float[] data = t.ToFloatArray();
        if (data.Length == 1)
        {
            return dims.Length <= rank ? Enumerable.Repeat(data[0], (int)channels).ToArray() : null;
        }
        if (data.Length != channels || dims.Length > rank)
        {
            return null;
        }
        // Right-align dims against the NC... layout: the channel axis is rank-2-... from the right.
        int channelFromRight = rank - 1 - 1;
        int axisInConst = dims.Length - 1 - channelFromRight;
        if (axisInConst < 0 || dims[axisInConst] != channels)
        {
            return null;
        }
        return data;
    }
}
