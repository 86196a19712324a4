using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Passes;

/// <summary>
/// The window attributes shared by Conv, ConvTranspose, MaxPool and AveragePool, read with the
/// spec's defaults: kernel (from <c>kernel_shape</c> or the weight), strides, dilations, pads
/// (<c>[x1_begin, x2_begin, ..., x1_end, x2_end, ...]</c>) and auto_pad.
/// </summary>
/// <param name="AutoPad">NOTSET, SAME_UPPER, SAME_LOWER or VALID.</param>
/// <param name="Kernel">Kernel size per spatial axis.</param>
/// <param name="Strides">Stride per spatial axis.</param>
/// <param name="Dilations">Dilation per spatial axis.</param>
/// <param name="Pads">Begin pads then end pads.</param>
internal sealed record ConvWindow(string AutoPad, long[] Kernel, long[] Strides, long[] Dilations, long[] Pads)
{
    /// <summary>Number of spatial axes.</summary>
    public int Spatial => Kernel.Length;

    /// <summary>Begin pad of spatial axis <paramref name="i"/>.</summary>
    public long Begin(int i) => Pads[i];

    /// <summary>End pad of spatial axis <paramref name="i"/>.</summary>
    public long End(int i) => Pads[i + Spatial];

    /// <summary>(k − 1)·d + 1 on axis <paramref name="i"/>.</summary>
    public long Effective(int i) => (Kernel[i] - 1) * Dilations[i] + 1;

    /// <summary>True when every begin pad equals its end pad.</summary>
    public bool IsSymmetric => Enumerable.Range(0, Spatial).All(i => Begin(i) == End(i));

    /// <summary>Reads the window of a Conv, ConvTranspose, MaxPool or AveragePool, or says why it cannot.</summary>
    public static (ConvWindow? Window, string? Reason) TryRead(Node node, ShapeInferenceResult shapes)
    {
        long[]? kernel = node.GetInts("kernel_shape");
        if (kernel is null && node.OpType is "Conv" or "ConvTranspose")
        {
            if (Constants.Of(node.Input(1)) is { } w && w.Dims.Length >= 3)
            {
                kernel = [.. w.Dims.Skip(2)];
            }
            else if (shapes.StaticDimsOf(node.Input(1)) is { Length: >= 3 } wd)
            {
                kernel = wd[2..];
            }
        }
        if (kernel is null || kernel.Length == 0)
        {
            return (null, "the kernel shape is unknown (no kernel_shape and no static weight shape)");
        }
        int n = kernel.Length;
        long[] strides = node.GetInts("strides") ?? Ones(n);
        long[] dilations = node.GetInts("dilations") ?? Ones(n);
        long[] pads = node.GetInts("pads") ?? new long[2 * n];
        if (strides.Length != n || dilations.Length != n || pads.Length != 2 * n)
        {
            return (null, "strides, dilations or pads do not fit the kernel's rank");
        }
        string autoPad = node.GetString("auto_pad", "NOTSET")!;
        if (autoPad is not ("NOTSET" or "SAME_UPPER" or "SAME_LOWER" or "VALID"))
        {
            return (null, $"unknown auto_pad '{autoPad}'");
        }
        return (new ConvWindow(autoPad, kernel, strides, dilations, pads), null);
    }

    /// <summary>The static spatial dims of <paramref name="v"/> (rank must be 2 + <see cref="Spatial"/>).</summary>
    public long[]? SpatialDims(ShapeInferenceResult shapes, Value? v) =>
        shapes.StaticDimsOf(v) is { } d && d.Length == Spatial + 2 ? d[2..] : null;

    /// <summary>
    /// The output spatial dims of a Conv or floor-mode pool over input spatial dims
    /// <paramref name="input"/> (spec formulas for NOTSET, VALID and SAME), or null when a window
    /// does not fit.
    /// </summary>
    public long[]? OutputSpatial(long[] input)
    {
        var o = new long[Spatial];
        for (int i = 0; i < Spatial; i++)
        {
            o[i] = AutoPad switch
            {
                "SAME_UPPER" or "SAME_LOWER" => (input[i] + Strides[i] - 1) / Strides[i],
                "VALID" => input[i] < Effective(i) ? -1 : (input[i] - Effective(i)) / Strides[i] + 1,
                _ => input[i] + Begin(i) + End(i) < Effective(i) ? -1 : (input[i] + Begin(i) + End(i) - Effective(i)) / Strides[i] + 1,
            };
            if (o[i] <= 0)
            {
                return null;
            }
        }
        return o;
    }

    /// <summary>The output spatial dims of a Conv: from its output's type, else computed from its input's.</summary>
    public long[]? ConvOutputSpatial(ShapeInferenceResult shapes, Node conv) =>
        SpatialDims(shapes, conv.Output(0)) ?? (SpatialDims(shapes, conv.Input(0)) is { } input ? OutputSpatial(input) : null);

    /// <summary>The node's attributes with <paramref name="replace"/> substituted and <paramref name="drop"/> removed.</summary>
    public static List<AttributeValue> With(Node node, IEnumerable<AttributeValue> replace, params string[] drop)
    {
        var extra = replace.ToList();
        var names = new HashSet<string>(extra.Select(a => a.Name).Concat(drop), StringComparer.Ordinal);
        return [.. node.Attributes.Where(a => !names.Contains(a.Name)), .. extra];
    }

    /// <summary>
    /// Replaces <paramref name="old"/> by a node of the same type with <paramref name="inputs"/> and
    /// <paramref name="attributes"/>; its outputs take over the old ones (and their names).
    /// </summary>
    public static Node Recreate(GraphRewriter rewriter, Node old, IEnumerable<Value?> inputs, IEnumerable<AttributeValue> attributes, string role)
    {
        Node node = rewriter.CreateNode(old.OpType, inputs, role, old.Outputs.Count, attributes, derivedFrom: [.. old.Inputs.OfType<Value>()], placeAfter: old);
        for (int i = 0; i < old.Outputs.Count; i++)
        {
            if (old.Outputs[i] is { } o)
            {
                rewriter.Replace(o, node.Outputs[i]!);
            }
        }
        rewriter.EraseIfUnused([old]);
        return node;
    }

    private static long[] Ones(int n) => [.. Enumerable.Repeat(1L, n)];
}
