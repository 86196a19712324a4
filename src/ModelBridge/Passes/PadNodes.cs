using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>Reads and builds constant-mode Pad nodes in the form the graph's opset wants.</summary>
internal static class PadNodes
{
    /// <summary>
    /// Creates <c>Pad(x, pads, value)</c>: pads and value are inputs from opset 11, attributes before.
    /// A null <paramref name="value"/> leaves the default 0.
    /// </summary>
    public static Value Create(GraphRewriter rewriter, Node anchor, Value x, long[] pads, float? value, string role)
    {
        if ((rewriter.Graph.OpsetVersion("") ?? 13) < 11)
        {
            List<AttributeValue> attrs = [Attr.String("mode", "constant"), Attr.Ints("pads", pads)];
            if (value is { } v)
            {
                attrs.Add(Attr.Float("value", v));
            }
            return rewriter.CreateNode("Pad", [x], role, attributes: attrs, derivedFrom: [x], placeAfter: anchor).Outputs[0]!;
        }
        Value p = rewriter.CreateInitializer(role + "_pads", Tensor.Create<long>([pads.Length], pads));
        Value?[] inputs = value is { } c ? [x, p, rewriter.CreateInitializer(role + "_value", Tensor.Create<float>([], [c]))] : [x, p];
        return rewriter.CreateNode("Pad", inputs, role, derivedFrom: [x], placeAfter: anchor).Outputs[0]!;
    }

    /// <summary>
    /// The pads over all axes of a constant-mode Pad whose value is 0, or the reason it is not one
    /// (other modes, a non-zero or non-constant value, non-constant pads, an axes input).
    /// </summary>
    public static (long[]? Pads, string? Reason) ReadZeroConstant(Node pad)
    {
        if (pad.GetString("mode", "constant") != "constant")
        {
            return (null, $"Pad mode is {pad.GetString("mode")}, not constant");
        }
        long[]? pads;
        if (pad.HasAttribute("pads"))
        {
            pads = pad.GetInts("pads");
            if (pad.GetFloat("value", 0f) != 0f)
            {
                return (null, "Pad value is not 0");
            }
        }
        else
        {
            pads = Patterns.ConstInts(pad.Input(1));
            if (pad.Input(2) is { } v && (Patterns.ConstFloats(v) is not { Length: 1 } c || c[0] != 0f || BitConverter.SingleToInt32Bits(c[0]) != 0))
            {
                return (null, "Pad value is not a constant +0");
            }
            if (pad.Input(3) is not null)
            {
                return (null, "Pad has an axes input");
            }
        }
        return pads is null ? (null, "Pad's pads are not constant") : (pads, null);
    }
}
