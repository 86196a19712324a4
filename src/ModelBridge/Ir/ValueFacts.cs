using ModelBridge.Profiles;

namespace ModelBridge.Ir;

/// <summary>Read-only facts about values that analyses (profiles, costs) share.</summary>
internal static class ValueFacts
{
    /// <summary>
    /// The constant payload of <paramref name="value"/>: a non-overridable initializer, or the <c>value</c>
    /// of a <c>Constant</c> node (runtimes such as ONNX Runtime turn those into initializers at load).
    /// </summary>
    public static Tensor? ConstantOf(Value? value)
    {
        if (value is null)
        {
            return null;
        }
        if (Graph.TryGetConstant(value) is { } t)
        {
            return t;
        }
        return value.Producer is { OpType: "Constant", IsStandardDomain: true } c ? c.GetTensor("value") : null;
    }

    /// <summary>True when <paramref name="value"/> is an initializer or the output of a <c>Constant</c> node.</summary>
    public static bool IsConstant(Value? value) =>
        value is not null && (value.IsConstant || value.Producer is { OpType: "Constant", IsStandardDomain: true });

    /// <summary>
    /// The initializer behind <paramref name="value"/>, following <c>Identity</c> chains (exporters reach
    /// shared weights through <c>Identity</c> nodes), or null.
    /// </summary>
    public static Value? InitializerBehind(Value? value)
    {
        for (int hops = 0; value is not null && hops < 64; hops++)
        {
            if (value.Initializer is not null)
            {
                return value;
            }
            if (value.Producer is not { OpType: "Identity", IsStandardDomain: true } id)
            {
                return null;
            }
            value = id.Input(0);
        }
        return null;
    }

    /// <summary>The static dims of <paramref name="value"/>: from its constant payload, else from its static <see cref="Value.Type"/>.</summary>
    public static long[]? StaticDims(Value? value)
    {
        if (value is null)
        {
            return null;
        }
        if (value.Initializer is { } init)
        {
            return [.. init.Dims];
        }
        return value.Type?.Shape is { } s && s.TryGetStatic(out long[] dims) ? dims : null;
    }

    /// <summary>The rank of <paramref name="value"/> when known (from its payload or its type).</summary>
    public static int? Rank(Value? value)
    {
        if (value?.Initializer is { } init)
        {
            return init.Dims.Length;
        }
        return value?.Type?.Shape?.Rank;
    }

    /// <summary>Element type of <paramref name="value"/> when known.</summary>
    public static DataType? ElementType(Value? value)
    {
        if (value?.Initializer is { } init)
        {
            return init.DataType;
        }
        return value?.Type is { ElementType: not DataType.Undefined } t ? t.ElementType : null;
    }
}

/// <summary>Group structure of a Conv/ConvTranspose read from its attributes and weight shape.</summary>
/// <param name="Group">The <c>group</c> attribute.</param>
/// <param name="InputChannels">Input channels (C_in).</param>
/// <param name="OutputChannels">Output channels (C_out).</param>
/// <param name="Kind">Standard, depthwise or grouped.</param>
/// <param name="Multiplier">For depthwise: C_out / group (the channel multiplier); otherwise 0.</param>
/// <param name="Kernel">Spatial kernel sizes from the weight shape.</param>
internal readonly record struct ConvGeometry(long Group, long InputChannels, long OutputChannels, ConvKind Kind, long Multiplier, long[] Kernel)
{
    /// <summary>
    /// Reads the geometry of a <c>Conv</c> (weight <c>[C_out, C_in/group, k...]</c>) or <c>ConvTranspose</c>
    /// (weight <c>[C_in, C_out/group, k...]</c>); null when the weight shape is not known.
    /// </summary>
    /// <remarks>
    /// The kind follows ONNX Runtime's NNAPI helper <c>GetConvType</c>: <c>group == 1</c> is standard,
    /// otherwise one input channel per group (weight dim 1 == 1 for Conv) is depthwise, otherwise grouped.
    /// </remarks>
    public static ConvGeometry? TryRead(Node node)
    {
        if (ValueFacts.StaticDims(node.Input(1)) is not { Length: >= 3 } w)
        {
            return null;
        }
        long group = Math.Max(1, node.GetInt("group", 1));
        bool transpose = node.OpType == "ConvTranspose";
        long cin = transpose ? w[0] : w[1] * group;
        long cout = transpose ? w[1] * group : w[0];
        long perGroupIn = cin / group;
        ConvKind kind = group == 1 ? ConvKind.Standard : perGroupIn == 1 ? ConvKind.Depthwise : ConvKind.Grouped;
        long multiplier = kind == ConvKind.Depthwise ? cout / group : 0;
        return new ConvGeometry(group, cin, cout, kind, multiplier, w[2..]);
    }
}
