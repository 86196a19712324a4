using ModelBridge.Profiles;

namespace ModelBridge.Ir;

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
    public static ConvGeometry? TryRead(Node node, Shapes.ShapeInferenceResult shapes)
    {
        if (shapes.StaticDimsOf(node.Input(1)) is not { Length: >= 3 } w)
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
