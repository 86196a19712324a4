using System.Globalization;
using ModelBridge.Ir;
using ModelBridge.Shapes;

namespace ModelBridge.Profiles;

/// <remarks>This file holds the checks of each kind of constraint; <c>ProfileChecker.cs</c> the walk; <c>ProfileChecker.Partition.cs</c> the partition estimate.</remarks>
public static partial class ProfileChecker
{
    private static void CheckOpset(Context ctx, OpConstraints c)
    {
        if (c.MinOpset is null && c.MaxOpset is null)
        {
            return;
        }
        if (ctx.Graph.OpsetVersion(ctx.Node.Domain) is not long v)
        {
            ctx.Unchecked(c.MinOpset is not null ? "minOpset" : "maxOpset");
            return;
        }
        var range = new IntRange(c.MinOpset, c.MaxOpset);
        if (!range.Contains(v))
        {
            ctx.Fail(v < c.MinOpset ? "minOpset" : "maxOpset", $"{ctx.Node.OpType} at opset {v}; {ctx.Target} supports it at opsets {range}");
        }
    }

    private static void CheckConstantInputs(Context ctx, OpConstraints c)
    {
        foreach (int i in c.ConstantInputs ?? [])
        {
            if (ctx.Node.Input(i) is { } v && !Constants.IsConstant(v))
            {
                ctx.Fail("constantInputs", $"input {i} ({Role(ctx.Node.OpType, i)}) '{v.Name}' is computed at run time; {ctx.Target} needs it to be a constant initializer");
            }
        }
    }

    private static string Role(string op, int i) => (op, i) switch
    {
        ("Conv" or "ConvTranspose", 1) => "weights",
        ("Conv" or "ConvTranspose", 2) => "bias",
        ("Gemm" or "MatMul", 1) => "B",
        ("Gemm", 2) => "C",
        ("Resize", 1) => "roi",
        ("Resize", 2) => "scales",
        ("Resize", 3) => "sizes",
        ("InstanceNormalization" or "LayerNormalization" or "GroupNormalization", 1) => "scale",
        ("InstanceNormalization" or "LayerNormalization" or "GroupNormalization", 2) => "bias",
        ("PRelu", 1) => "slope",
        ("Pad", 1) => "pads",
        ("Pad", 2) => "constant_value",
        ("Clip", 1) => "min",
        ("Clip", 2) => "max",
        ("Slice", 1) => "starts",
        ("Slice", 2) => "ends",
        ("Slice", 3) => "axes",
        ("Slice", 4) => "steps",
        ("Reshape", 1) => "shape",
        _ => $"input {i}",
    };

    private static void CheckRank(Context ctx, OpConstraints c)
    {
        if (c.InputRank is null && c.InputRanks is null)
        {
            return;
        }
        if (ctx.Shapes.RankOf(ctx.Node.Input(0)) is not int rank)
        {
            ctx.Unchecked(c.InputRank is not null ? "inputRank" : "inputRanks");
            return;
        }
        if (c.InputRank is { } r && !r.Contains(rank))
        {
            ctx.Fail("inputRank", $"input 0 has rank {rank}; {ctx.Target} runs {ctx.Node.OpType} on rank {r}");
        }
        if (c.InputRanks is { } set && !set.Contains(rank))
        {
            ctx.Fail("inputRanks", $"input 0 has rank {rank}; {ctx.Target} runs {ctx.Node.OpType} only on rank {string.Join(" or ", set)}");
        }
    }

    /// <summary>Spatial kernel extents: from the weight of a Conv/ConvTranspose, else <c>kernel_shape</c>.</summary>
    private static long[]? Kernel(Node node, ShapeInferenceResult shapes)
    {
        if (node.OpType is "Conv" or "ConvTranspose")
        {
            return shapes.StaticDimsOf(node.Input(1)) is { Length: >= 3 } w ? w[2..] : node.GetInts("kernel_shape");
        }
        return node.GetInts("kernel_shape");
    }

    private static void CheckKernel(Context ctx, OpConstraints c)
    {
        Node node = ctx.Node;
        if (c.SpatialDims is { } dims)
        {
            int? spatial = node.OpType switch
            {
                "Conv" or "ConvTranspose" => ctx.Shapes.RankOf(node.Input(1)) - 2 ?? node.GetInts("kernel_shape")?.Length,
                _ when node.GetInts("kernel_shape") is { } k => k.Length,
                _ => ctx.Shapes.RankOf(node.Input(0)) - 2,
            };
            if (spatial is not int s)
            {
                ctx.Unchecked("spatialDims");
            }
            else if (!dims.Contains(s))
            {
                ctx.Fail("spatialDims", $"{s}-D {node.OpType}; {ctx.Target} runs only {string.Join(" or ", dims.Select(d => $"{d}-D"))} {node.OpType}");
            }
        }
        if (c.KernelSize is { } range)
        {
            if (Kernel(node, ctx.Shapes) is not { } k)
            {
                ctx.Unchecked("kernelSize");
            }
            else if (k.Any(x => !range.Contains(x)))
            {
                ctx.Fail("kernelSize", $"kernel {string.Join('x', k)}; {ctx.Target} accepts kernel extents {range}");
            }
        }
    }

    private static void CheckGroups(Context ctx, OpConstraints c)
    {
        Node node = ctx.Node;
        bool isConv = node.OpType is "Conv" or "ConvTranspose";
        long[] dilations = node.GetInts("dilations") ?? [];
        bool dilated = dilations.Any(d => d != 1);
        ConvGeometry? g = isConv ? ConvGeometry.TryRead(node, ctx.Shapes) : null;
        if (c.GroupPolicy is { } policy && isConv)
        {
            if (g is not { } geo)
            {
                ctx.Unchecked("groupPolicy");
            }
            else if (!Allows(policy, geo))
            {
                ctx.Fail("groupPolicy", $"{Describe(geo)}; {ctx.Target} runs only {Describe(policy)}");
            }
        }
        if (c.DilationsOn is { } kinds && dilated)
        {
            ConvKind? kind = isConv ? g?.Kind : ConvKind.Standard;
            string list = $"[{string.Join(',', dilations)}]";
            if (kinds.Count == 0)
            {
                ctx.Fail("dilationsOn", $"dilations={list}; {ctx.Target} does not support dilated {node.OpType}");
            }
            else if (kind is not { } k)
            {
                ctx.Unchecked("dilationsOn");
            }
            else if (!kinds.Contains(k))
            {
                ctx.Fail("dilationsOn", $"dilations={list} on a {Name(k)} convolution; {ctx.Target} accepts dilations only on {string.Join(" and ", kinds.Select(Name))} convolutions");
            }
        }
    }

    private static bool Allows(GroupPolicy policy, ConvGeometry g) => g.Kind switch
    {
        ConvKind.Standard => true,
        ConvKind.Depthwise when g.Multiplier == 1 => policy >= GroupPolicy.Depthwise,
        ConvKind.Depthwise => policy >= GroupPolicy.DepthwiseMultiplier,
        _ => policy == GroupPolicy.Any,
    };

    private static string Describe(ConvGeometry g) => g.Kind switch
    {
        ConvKind.Depthwise => $"group={g.Group} with {g.InputChannels} input and {g.OutputChannels} output channels is a depthwise convolution with channel multiplier {g.Multiplier}",
        ConvKind.Grouped => $"group={g.Group} with {g.InputChannels} input channels is a grouped convolution ({g.InputChannels / g.Group} channels per group)",
        _ => "a standard convolution",
    };

    private static string Describe(GroupPolicy p) => p switch
    {
        GroupPolicy.Standard => "standard (group=1) convolutions",
        GroupPolicy.Depthwise => "standard or depthwise (multiplier 1) convolutions",
        GroupPolicy.DepthwiseMultiplier => "standard or depthwise (any multiplier) convolutions",
        _ => "any convolution",
    };

    private static string Name(ConvKind k) => k.ToString().ToLowerInvariant();

    private static void CheckPads(Context ctx, OpConstraints c)
    {
        Node node = ctx.Node;
        string autoPad = node.GetString("auto_pad", "NOTSET")!;
        if (c.AutoPad is { } allowed && !allowed.Contains(autoPad))
        {
            ctx.Fail("autoPad", $"auto_pad={autoPad}; {ctx.Target} accepts auto_pad {string.Join(", ", allowed)}");
        }
        if (c.SymmetricPads == true && node.GetInts("pads") is { Length: > 0 } pads && pads.Length % 2 == 0)
        {
            int n = pads.Length / 2;
            if (Enumerable.Range(0, n).Any(i => pads[i] != pads[i + n]))
            {
                ctx.Fail("symmetricPads", $"pads=[{string.Join(',', pads)}] differ between the begin and end of an axis; {ctx.Target} needs symmetric padding");
            }
        }
    }

    private static void CheckResize(Context ctx, OpConstraints c)
    {
        Node node = ctx.Node;
        if (c.ResizeModes is null && c.CoordinateTransformationModes is null && c.NearestModes is null)
        {
            return;
        }
        string mode = node.GetString("mode", "nearest")!;
        if (c.ResizeModes is { } modes && !modes.Contains(mode))
        {
            ctx.Fail("resizeModes", $"mode={mode}; {ctx.Target} resizes only with mode {string.Join(", ", modes)}");
        }
        string ctm = node.GetString("coordinate_transformation_mode", "half_pixel")!;
        if (c.CoordinateTransformationModes is { } byMode
            && (byMode.GetValueOrDefault(mode) ?? byMode.GetValueOrDefault("*")) is { } ctms && !ctms.Contains(ctm))
        {
            ctx.Fail("coordinateTransformationModes", $"coordinate_transformation_mode={ctm} with mode={mode}; {ctx.Target} accepts {string.Join(", ", ctms)} for mode={mode}");
        }
        string nearest = node.GetString("nearest_mode", "round_prefer_floor")!;
        if (mode == "nearest" && c.NearestModes is { } nearestModes && !nearestModes.Contains(nearest))
        {
            ctx.Fail("nearestModes", $"nearest_mode={nearest}; {ctx.Target} accepts nearest_mode {string.Join(", ", nearestModes)}");
        }
    }

    private static void CheckAxes(Context ctx, OpConstraints c)
    {
        if (c.Axes is not { } allowed)
        {
            return;
        }
        Node node = ctx.Node;
        long axis = node.HasAttribute("axis") ? node.GetInt("axis") : DefaultAxis(ctx.Graph, node);
        int? rank = node.Inputs.Select(ctx.Shapes.RankOf).FirstOrDefault(r => r is not null);
        bool needsRank = axis < 0 || allowed.Any(a => a == "last" || a.StartsWith('-'));
        if (needsRank && rank is null)
        {
            ctx.Unchecked("axes");
            return;
        }
        long normalized = axis < 0 ? axis + rank!.Value : axis;
        bool ok = allowed.Any(a => a switch
        {
            "last" => normalized == rank - 1,
            "channel" => normalized == 1,
            _ => long.Parse(a, CultureInfo.InvariantCulture) is var k && (k < 0 ? k + rank!.Value : k) == normalized,
        });
        if (!ok)
        {
            string shown = rank is int r ? $"axis={axis} (of rank {r})" : $"axis={axis}";
            ctx.Fail("axes", $"{shown}; {ctx.Target} runs {node.OpType} only on axis {string.Join(" or ", allowed)}");
        }
    }

    private static long DefaultAxis(Graph graph, Node node) => node.OpType switch
    {
        "Softmax" or "LogSoftmax" or "Hardmax" => graph.OpsetVersion(node.Domain) is < 13 ? 1 : -1,
        "Flatten" => 1,
        _ => 0,
    };

    private static void CheckTypesAndShapes(Context ctx, OpConstraints c)
    {
        Node node = ctx.Node;
        if (c.DataTypes is { } types)
        {
            if (ctx.Shapes.ElementTypeOf(node.Input(0)) is not { } t)
            {
                ctx.Unchecked("dataTypes");
            }
            else if (!types.Contains(t))
            {
                ctx.Fail("dataTypes", $"input 0 '{node.Input(0)!.Name}' is {DataTypes.OnnxName(t)}; {ctx.Target} runs {node.OpType} on {string.Join(", ", types.Select(DataTypes.OnnxName))}");
            }
        }
        if (c.StaticShapes != true && c.MaxRank is null)
        {
            return;
        }
        var dynamic = new List<string>();
        var tooDeep = new List<string>();
        bool unknown = false;
        foreach (Value v in node.Inputs.Concat(node.Outputs).OfType<Value>())
        {
            if (v.Initializer is { } init)
            {
                if (init.Dims.Length > c.MaxRank)
                {
                    tooDeep.Add($"'{v.Name}' has rank {init.Dims.Length}");
                }
                continue;
            }
            if (ctx.Shapes.TypeOf(v) is not { } type)
            {
                unknown = !Constants.IsConstant(v);
                continue;
            }
            if (type.Shape is not { } s)
            {
                dynamic.Add($"'{v.Name}' has unknown rank");
                continue;
            }
            if (!s.IsStatic)
            {
                dynamic.Add($"'{v.Name}' is {s}");
            }
            if (s.Rank > c.MaxRank)
            {
                tooDeep.Add($"'{v.Name}' has rank {s.Rank}");
            }
        }
        if (c.StaticShapes == true && dynamic.Count > 0)
        {
            ctx.Fail("staticShapes", $"{string.Join(", ", dynamic)}; {ctx.Target} needs every input and output shape to be static (pin symbols with --set-dim)");
        }
        if (tooDeep.Count > 0)
        {
            ctx.Fail("maxRank", $"{string.Join(", ", tooDeep)}; {ctx.Target} handles tensors of rank <= {c.MaxRank}");
        }
        if (unknown)
        {
            ctx.Unchecked(c.StaticShapes == true ? "staticShapes" : "maxRank");
        }
    }

    private static void CheckClip(Context ctx, OpConstraints c)
    {
        Node node = ctx.Node;
        if (c.ClipBounds is not { } bounds || node.OpType != "Clip")
        {
            return;
        }
        double? min = Bound(node, 1, "min", double.NegativeInfinity);
        double? max = Bound(node, 2, "max", double.PositiveInfinity);
        if (min is null || max is null)
        {
            ctx.Fail("clipBounds", $"Clip bounds are computed at run time; {ctx.Target} needs constant bounds {FormatBounds(bounds)}");
            return;
        }
        if (!bounds.Any(b => Same(b.Min, min.Value) && Same(b.Max, max.Value)))
        {
            ctx.Fail("clipBounds", $"Clip({Format(min.Value)}, {Format(max.Value)}); {ctx.Target} runs only Clip{FormatBounds(bounds)}");
        }
    }

    private static double? Bound(Node node, int input, string attribute, double absent)
    {
        if (node.HasAttribute(attribute))
        {
            return node.GetFloat(attribute, (float)absent);
        }
        if (node.Input(input) is not { } v)
        {
            return absent;
        }
        return Constants.Of(v) is { ElementCount: 1 } t && DataTypes.IsFloatingPoint(t.DataType) && DataTypes.IsConvertible(t.DataType) ? t.ToFloatArray()[0] : null;
    }

    // An infinite bound (an absent Clip max) matches only itself: the relative slack would otherwise be infinite too.
    private static bool Same(double a, double b) => a == b || (double.IsFinite(a) && double.IsFinite(b) && Math.Abs(a - b) <= 1e-6 * Math.Max(1, Math.Abs(b)));

    private static string Format(double v) => double.IsInfinity(v) ? (v > 0 ? "+inf" : "-inf") : v.ToString("G", CultureInfo.InvariantCulture);

    private static string FormatBounds(IReadOnlyList<(double Min, double Max)> bounds) =>
        string.Join(" or ", bounds.Select(b => $"({Format(b.Min)}, {Format(b.Max)})"));

    private static void CheckAttributes(Context ctx, OpConstraints c)
    {
        foreach (var (name, allowed) in c.Attributes ?? new Dictionary<string, IReadOnlyList<string>>())
        {
            AttributeValue? a = ctx.Node.FindAttribute(name);
            if (a is null)
            {
                continue;
            }
            (string shown, bool ok) = a.Kind switch
            {
                AttributeKind.Int => (a.AsInt().ToString(CultureInfo.InvariantCulture), allowed.Any(s => long.TryParse(s, CultureInfo.InvariantCulture, out long x) && x == a.AsInt())),
                AttributeKind.Float => (Format(a.AsFloat()), allowed.Any(s => double.TryParse(s, CultureInfo.InvariantCulture, out double x) && Same(x, a.AsFloat()))),
                AttributeKind.String => (a.AsString(), allowed.Contains(a.AsString())),
                _ => ("(not a scalar)", false),
            };
            if (!ok)
            {
                ctx.Fail("attributes", $"{name}={shown}; {ctx.Target} accepts {name} {string.Join(", ", allowed)}");
            }
        }
    }
}
