using ModelBridge.Ir;
using ModelBridge.Shapes;

namespace ModelBridge.Slimming;

/// <summary>How a K×K convolution is factored into two cheaper ones.</summary>
public enum FactorizationMethod
{
    /// <summary>
    /// Channel decomposition (Zhang et al. 2015, "Accelerating Very Deep Convolutional Networks"): a K×K
    /// conv from C_in to r channels, then a 1×1 conv from r to C_out (<see cref="Passes.DecomposeConvChannels"/>).
    /// For a 1×1 conv this is a plain low-rank (weight SVD) split.
    /// </summary>
    Channel,

    /// <summary>
    /// Spatial SVD (Jaderberg et al. 2014; AIMET's spatial SVD): a K_h×1 conv from C_in to r channels, then a
    /// 1×K_w conv from r to C_out (<see cref="Passes.DecomposeConvSpatial"/>).
    /// </summary>
    Spatial,

    /// <summary>
    /// Depthwise-separable: a depthwise K×K conv with channel multiplier r, then a 1×1 conv from C_in·r to
    /// C_out (<see cref="Passes.LowerConvToSeparable"/>).
    /// </summary>
    Separable,
}

/// <summary>One node that applies a <see cref="ConvLayer"/>'s weight, with its static sizes.</summary>
/// <param name="Node">The Conv node's name.</param>
/// <param name="Input">Its input value.</param>
/// <param name="Output">Its output value.</param>
/// <param name="Batch">N.</param>
/// <param name="InputHeight">H_in.</param>
/// <param name="InputWidth">W_in.</param>
/// <param name="OutputHeight">H_out.</param>
/// <param name="OutputWidth">W_out.</param>
public sealed record ConvSite(string Node, string Input, string Output, long Batch, long InputHeight, long InputWidth, long OutputHeight, long OutputWidth)
{
    /// <summary>N·H_out·W_out.</summary>
    public long OutputPixels => Batch * OutputHeight * OutputWidth;
}

/// <summary>
/// A standard 2-D convolution weight that slimming can factor, with every Conv node that applies it
/// (shared detector heads apply one weight at several levels) and the MAC and parameter count of each
/// factorisation.
/// </summary>
/// <remarks>
/// <para>Pads are explicit: an <c>auto_pad</c> of SAME_UPPER/SAME_LOWER is resolved from the static shapes.</para>
/// <para>MACs, summed over the sites (P = N·H_out·W_out, D = C_in·K_h·K_w, r the rank):</para>
/// <list type="bullet">
/// <item>original: P·C_out·D;</item>
/// <item>channel: P·r·(D + C_out);</item>
/// <item>spatial: N·H_out·W_in·r·C_in·K_h + P·r·C_out·K_w (the K_h×1 conv runs over every input column);</item>
/// <item>separable: P·C_in·r·(K_h·K_w + C_out).</item>
/// </list>
/// <para>Parameters (bias included, counted once however many sites share the weight): original
/// C_out·D + C_out; channel r·D + C_out·r + C_out; spatial r·C_in·K_h + C_out·r·K_w + C_out; separable
/// C_in·r·K_h·K_w + C_out·C_in·r + C_out.</para>
/// </remarks>
public sealed record ConvLayer
{
    /// <summary>Name of the value holding the weight (an initializer or Constant output; the plan's key).</summary>
    public required string Weight { get; init; }

    /// <summary>Name of the value holding the bias, or null when the convs have none.</summary>
    public string? Bias { get; init; }

    /// <summary>The Conv nodes that apply the weight, in graph order.</summary>
    public required IReadOnlyList<ConvSite> Sites { get; init; }

    /// <summary>C_out.</summary>
    public required int OutputChannels { get; init; }

    /// <summary>C_in.</summary>
    public required int InputChannels { get; init; }

    /// <summary>K_h.</summary>
    public required int KernelHeight { get; init; }

    /// <summary>K_w.</summary>
    public required int KernelWidth { get; init; }

    /// <summary>Strides (h, w).</summary>
    public required long[] Strides { get; init; }

    /// <summary>Dilations (h, w).</summary>
    public required long[] Dilations { get; init; }

    /// <summary>Explicit pads: top, left, bottom, right.</summary>
    public required long[] Pads { get; init; }

    /// <summary>D = C_in·K_h·K_w, the length of one input patch.</summary>
    public int PatchSize => InputChannels * KernelHeight * KernelWidth;

    /// <summary>Whether <paramref name="method"/> applies: spatial and separable need a kernel of more than one element.</summary>
    public bool Supports(FactorizationMethod method) => method == FactorizationMethod.Channel || KernelHeight * KernelWidth > 1;

    /// <summary>The rank at which <paramref name="method"/> reproduces the weight exactly.</summary>
    public int FullRank(FactorizationMethod method) => method switch
    {
        FactorizationMethod.Channel => Math.Min(OutputChannels, PatchSize),
        FactorizationMethod.Spatial => Math.Min(InputChannels * KernelHeight, OutputChannels * KernelWidth),
        FactorizationMethod.Separable => Math.Min(OutputChannels, KernelHeight * KernelWidth),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown factorisation."),
    };

    /// <summary>MACs of the original convolutions (all sites).</summary>
    public long OriginalMacs => Sites.Sum(s => s.OutputPixels * OutputChannels * PatchSize);

    /// <summary>Weight and bias elements of the original convolution.</summary>
    public long OriginalParameters => ((long)OutputChannels * PatchSize) + BiasCount;

    private long BiasCount => OutputChannels;

    /// <summary>MACs of all sites factored by <paramref name="method"/> at rank <paramref name="rank"/> (formulas in the remarks).</summary>
    public long Macs(FactorizationMethod method, int rank)
    {
        long r = rank, co = OutputChannels, ci = InputChannels, kh = KernelHeight, kw = KernelWidth;
        return method switch
        {
            FactorizationMethod.Channel => Sites.Sum(s => s.OutputPixels * r * (PatchSize + co)),
            FactorizationMethod.Spatial => Sites.Sum(s => (s.Batch * s.OutputHeight * s.InputWidth * r * ci * kh) + (s.OutputPixels * r * co * kw)),
            FactorizationMethod.Separable => Sites.Sum(s => s.OutputPixels * ci * r * ((kh * kw) + co)),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown factorisation."),
        };
    }

    /// <summary>Weight and bias elements after factoring by <paramref name="method"/> at rank <paramref name="rank"/>.</summary>
    public long Parameters(FactorizationMethod method, int rank)
    {
        long r = rank, co = OutputChannels, ci = InputChannels, kh = KernelHeight, kw = KernelWidth;
        return BiasCount + method switch
        {
            FactorizationMethod.Channel => (r * PatchSize) + (co * r),
            FactorizationMethod.Spatial => (r * ci * kh) + (co * r * kw),
            FactorizationMethod.Separable => (ci * r * kh * kw) + (co * ci * r),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown factorisation."),
        };
    }

    /// <summary>
    /// The layers of <paramref name="graph"/> that <paramref name="scope"/> addresses (<see cref="NodeNaming.Matches"/>;
    /// empty for every standard conv), and why each other Conv was left out.
    /// </summary>
    /// <param name="graph">The graph (usually canonicalised, so weights are initializers and BatchNorm is folded).</param>
    /// <param name="shapes">Its shape facts with the input size pinned: every site needs static shapes.</param>
    /// <param name="scope">Substring of a node, output or weight name; empty for all.</param>
    public static (IReadOnlyList<ConvLayer> Layers, IReadOnlyList<string> Excluded) Find(Graph graph, ShapeInferenceResult shapes, string scope)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(shapes);
        ArgumentNullException.ThrowIfNull(scope);
        var excluded = new List<string>();
        var byWeight = new Dictionary<Value, List<Node>>();
        var order = new List<Value>();
        foreach (Node n in graph.TopologicalOrder())
        {
            if (n.OpType != "Conv" || !n.IsStandardDomain)
            {
                continue;
            }
            if (Constants.WeightSource(n.Input(1)) is not { } w)
            {
                excluded.Add($"{NodeNaming.NameOf(n)}: the weight is not a constant");
                continue;
            }
            if (!byWeight.TryGetValue(w, out List<Node>? list))
            {
                byWeight[w] = list = [];
                order.Add(w);
            }
            list.Add(n);
        }
        var layers = new List<ConvLayer>();
        foreach (Value w in order)
        {
            List<Node> convs = byWeight[w];
            (ConvLayer? layer, string? reason) = TryRead(w, convs, shapes, scope);
            if (layer is not null)
            {
                layers.Add(layer);
            }
            else if (reason is not null)
            {
                excluded.Add($"{string.Join(", ", convs.Select(NodeNaming.NameOf))}: {reason}");
            }
        }
        return (layers, excluded);
    }

    /// <summary>
    /// The layer of one Conv on its own, as a pass factoring node by node sees it, or why it cannot be
    /// factored. Its <see cref="Sites"/> are empty when the shapes are not static (MACs then unknown).
    /// </summary>
    public static (ConvLayer? Layer, string? Reason) ForNode(Node conv, ShapeInferenceResult shapes)
    {
        ArgumentNullException.ThrowIfNull(conv);
        ArgumentNullException.ThrowIfNull(shapes);
        if (Constants.WeightSource(conv.Input(1)) is not { } w)
        {
            return (null, "the weight is not a constant");
        }
        return TryRead(w, [conv], shapes, "", requireShapes: false);
    }

    /// <summary>The layer for a weight and its Conv readers, or why it cannot be slimmed (null reason: outside the scope).</summary>
    private static (ConvLayer? Layer, string? Reason) TryRead(Value weight, List<Node> convs, ShapeInferenceResult shapes, string scope, bool requireShapes = true)
    {
        int inScope = convs.Count(c => NodeNaming.Matches(c, scope));
        if (inScope == 0)
        {
            return (null, null);
        }
        if (inScope != convs.Count)
        {
            return (null, "the weight is shared with convs outside the scope");
        }
        if (requireShapes && ReaderOutsideConvs(weight, convs) is { } other)
        {
            return (null, $"the weight is also read by {other}");
        }
        if (Constants.WeightOf(weight) is not { DataType: DataType.Float, Dims.Length: 4 } w)
        {
            return (null, "the weight is not a 4-D float tensor (only 2-D convolutions are factored)");
        }
        Node first = convs[0];
        if (convs.Any(c => c.GetInt("group", 1) != 1))
        {
            return (null, "group ≠ 1 (only standard convolutions are factored)");
        }
        Value? bias = first.Input(2) is { } b ? Constants.WeightSource(b) : null;
        if (first.Input(2) is not null && (bias is null || Constants.WeightOf(bias) is not { DataType: DataType.Float } bt || bt.ElementCount != w.Dims[0]))
        {
            return (null, "the bias is not a constant float vector of C_out values");
        }
        if (convs.Any(c => (c.Input(2) is { } cb ? Constants.WeightSource(cb) : null) != bias))
        {
            return (null, "the convs sharing the weight do not share one bias");
        }
        string attrs = Signature(first);
        if (convs.Any(c => Signature(c) != attrs))
        {
            return (null, "the convs sharing the weight have different strides, pads or dilations");
        }
        var sites = new List<ConvSite>();
        long[]? pads = null;
        foreach (Node c in convs)
        {
            if (shapes.StaticDimsOf(c.Input(0)) is not { Length: 4 } x || shapes.StaticDimsOf(c.Output(0)) is not { Length: 4 } y)
            {
                if (!requireShapes && c.GetString("auto_pad", "NOTSET") is "NOTSET" or "VALID")
                {
                    pads = ResolvePads(c, w, [], []);
                    if (pads is null)
                    {
                        return (null, "the pads cannot be resolved");
                    }
                    continue;
                }
                return (null, "the input or output shape is not static (pin the input size)");
            }
            long[]? p = ResolvePads(c, w, x, y);
            if (p is null)
            {
                return (null, "the pads cannot be resolved");
            }
            if (pads is not null && !pads.SequenceEqual(p))
            {
                return (null, "the convs sharing the weight resolve auto_pad differently");
            }
            pads = p;
            sites.Add(new ConvSite(NodeNaming.NameOf(c), c.Input(0)!.Name, c.Output(0)!.Name, x[0], x[2], x[3], y[2], y[3]));
        }
        return (new ConvLayer
        {
            Weight = weight.Name,
            Bias = bias?.Name,
            Sites = sites,
            OutputChannels = (int)w.Dims[0],
            InputChannels = (int)w.Dims[1],
            KernelHeight = (int)w.Dims[2],
            KernelWidth = (int)w.Dims[3],
            Strides = first.GetInts("strides") ?? [1, 1],
            Dilations = first.GetInts("dilations") ?? [1, 1],
            Pads = pads ?? [0, 0, 0, 0],
        }, null);
    }

    private static string? ReaderOutsideConvs(Value weight, List<Node> convs)
    {
        var stack = new Stack<Value>([weight]);
        while (stack.Count > 0)
        {
            foreach (Use u in stack.Pop().Uses)
            {
                if (u.Node is { OpType: "Identity" } id && id.Output(0) is { } o)
                {
                    stack.Push(o);
                }
                else if (!convs.Contains(u.Node) || u.InputIndex != 1)
                {
                    return $"{u.Node.OpType} '{NodeNaming.NameOf(u.Node)}'";
                }
            }
        }
        return null;
    }

    private static string Signature(Node c) => string.Join("|",
        string.Join(",", c.GetInts("strides") ?? [1, 1]), string.Join(",", c.GetInts("dilations") ?? [1, 1]),
        string.Join(",", c.GetInts("pads") ?? [0, 0, 0, 0]), c.GetString("auto_pad", "NOTSET"));

    /// <summary>Explicit (top, left, bottom, right) pads; SAME_* resolved from the static sizes as the ONNX spec defines.</summary>
    private static long[]? ResolvePads(Node c, Tensor w, long[] x, long[] y)
    {
        string autoPad = c.GetString("auto_pad", "NOTSET")!;
        long[] strides = c.GetInts("strides") ?? [1, 1];
        long[] dilations = c.GetInts("dilations") ?? [1, 1];
        if (strides.Length != 2 || dilations.Length != 2)
        {
            return null;
        }
        switch (autoPad)
        {
            case "NOTSET":
                return c.GetInts("pads") is { Length: 4 } p ? p : c.GetInts("pads") is null ? [0, 0, 0, 0] : null;
            case "VALID":
                return [0, 0, 0, 0];
            case "SAME_UPPER" or "SAME_LOWER":
                var pads = new long[4];
                for (int i = 0; i < 2; i++)
                {
                    long effective = ((w.Dims[2 + i] - 1) * dilations[i]) + 1;
                    long total = Math.Max(0, ((y[2 + i] - 1) * strides[i]) + effective - x[2 + i]);
                    long small = total / 2;
                    pads[i] = autoPad == "SAME_UPPER" ? small : total - small;
                    pads[i + 2] = total - pads[i];
                }
                return pads;
            default:
                return null;
        }
    }
}
