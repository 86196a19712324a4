using ModelBridge.Ir;

namespace ModelBridge.Profiles;

/// <summary>An inclusive integer range; either end may be open.</summary>
/// <param name="Min">Lower bound, or null.</param>
/// <param name="Max">Upper bound, or null.</param>
public sealed record IntRange(long? Min, long? Max)
{
    /// <summary>True when <paramref name="value"/> lies in the range.</summary>
    public bool Contains(long value) => (Min is null || value >= Min) && (Max is null || value <= Max);

    /// <inheritdoc/>
    public override string ToString() => (Min, Max) switch
    {
        (long a, long b) when a == b => $"{a}",
        (long a, long b) => $"{a}..{b}",
        (long a, null) => $">= {a}",
        (null, long b) => $"<= {b}",
        _ => "any",
    };
}

/// <summary>Which kinds of grouped convolution a target runs; each policy includes the ones before it.</summary>
public enum GroupPolicy
{
    /// <summary>Only <c>group = 1</c>.</summary>
    Standard,

    /// <summary>Standard, and depthwise with channel multiplier 1 (<c>group = C_in = C_out</c>).</summary>
    Depthwise,

    /// <summary>Standard, and depthwise with any channel multiplier (<c>group = C_in</c>, <c>C_out = k·C_in</c>).</summary>
    DepthwiseMultiplier,

    /// <summary>Any group count, including grouped convolutions with several channels per group.</summary>
    Any,
}

/// <summary>
/// What a target requires of one operator. Every property is optional; null means "not constrained".
/// The JSON name of each property is given in its summary (see <c>schemas/target-profile.schema.json</c>).
/// </summary>
public sealed record OpConstraints
{
    /// <summary><c>minOpset</c>: the lowest opset (of the node's domain) the target accepts for the op.</summary>
    public long? MinOpset { get; init; }

    /// <summary><c>maxOpset</c>: the highest opset the target accepts for the op.</summary>
    public long? MaxOpset { get; init; }

    /// <summary><c>constantInputs</c>: input slots that, when present, must be constant (an initializer or a <c>Constant</c> node's output).</summary>
    public IReadOnlyList<int>? ConstantInputs { get; init; }

    /// <summary><c>inputRank</c>: <c>{"min": a, "max": b}</c> limits on the rank of input 0.</summary>
    public IntRange? InputRank { get; init; }

    /// <summary><c>inputRanks</c>: the exact ranks of input 0 the target accepts, e.g. <c>[2, 4]</c>.</summary>
    public IReadOnlyList<int>? InputRanks { get; init; }

    /// <summary><c>spatialDims</c>: accepted numbers of spatial dimensions of a conv/pool kernel, e.g. <c>[2]</c> for 2-D only.</summary>
    public IReadOnlyList<int>? SpatialDims { get; init; }

    /// <summary><c>kernelSize</c>: <c>{"min", "max"}</c> limits on every spatial kernel extent.</summary>
    public IntRange? KernelSize { get; init; }

    /// <summary><c>groupPolicy</c>: <c>standard</c>, <c>depthwise</c>, <c>depthwiseMultiplier</c> or <c>any</c>.</summary>
    public GroupPolicy? GroupPolicy { get; init; }

    /// <summary><c>dilationsOn</c>: the convolution kinds (<c>standard</c>, <c>depthwise</c>, <c>grouped</c>) that may use dilations other than 1; <c>[]</c> forbids dilations.</summary>
    public IReadOnlyList<ConvKind>? DilationsOn { get; init; }

    /// <summary><c>symmetricPads</c>: when true, the begin and end pads of every axis must be equal.</summary>
    public bool? SymmetricPads { get; init; }

    /// <summary><c>autoPad</c>: accepted <c>auto_pad</c> values; <c>["NOTSET"]</c> forbids auto padding.</summary>
    public IReadOnlyList<string>? AutoPad { get; init; }

    /// <summary><c>resizeModes</c>: accepted Resize <c>mode</c> values.</summary>
    public IReadOnlyList<string>? ResizeModes { get; init; }

    /// <summary><c>coordinateTransformationModes</c>: accepted values per Resize mode (key <c>*</c> for every mode).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? CoordinateTransformationModes { get; init; }

    /// <summary><c>nearestModes</c>: accepted <c>nearest_mode</c> values for <c>mode = nearest</c>.</summary>
    public IReadOnlyList<string>? NearestModes { get; init; }

    /// <summary><c>axes</c>: accepted <c>axis</c> attribute values: integers (negative ones count from the end), <c>last</c>, or <c>channel</c> (axis 1).</summary>
    public IReadOnlyList<string>? Axes { get; init; }

    /// <summary><c>dataTypes</c>: accepted element types of input 0 (ONNX spelling: <c>float</c>, <c>uint8</c>, ...).</summary>
    public IReadOnlyList<DataType>? DataTypes { get; init; }

    /// <summary><c>staticShapes</c>: when true, every input and output shape must be fully known.</summary>
    public bool? StaticShapes { get; init; }

    /// <summary><c>maxRank</c>: the largest rank of any input or output.</summary>
    public int? MaxRank { get; init; }

    /// <summary><c>clipBounds</c>: the accepted <c>[min, max]</c> pairs of a Clip (e.g. ReLU6 = <c>[0, 6]</c>).</summary>
    public IReadOnlyList<(double Min, double Max)>? ClipBounds { get; init; }

    /// <summary><c>attributes</c>: accepted values of other attributes (as JSON numbers or strings); an absent attribute passes.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? Attributes { get; init; }

    /// <summary><c>note</c>: free text shown next to the reasons when the op is refused (not a constraint).</summary>
    public string? Note { get; init; }

    /// <summary>This entry with every unset property taken from <paramref name="defaults"/>.</summary>
    public OpConstraints WithDefaults(OpConstraints defaults)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        return this with
        {
            MinOpset = MinOpset ?? defaults.MinOpset,
            MaxOpset = MaxOpset ?? defaults.MaxOpset,
            ConstantInputs = ConstantInputs ?? defaults.ConstantInputs,
            InputRank = InputRank ?? defaults.InputRank,
            InputRanks = InputRanks ?? defaults.InputRanks,
            SpatialDims = SpatialDims ?? defaults.SpatialDims,
            KernelSize = KernelSize ?? defaults.KernelSize,
            GroupPolicy = GroupPolicy ?? defaults.GroupPolicy,
            DilationsOn = DilationsOn ?? defaults.DilationsOn,
            SymmetricPads = SymmetricPads ?? defaults.SymmetricPads,
            AutoPad = AutoPad ?? defaults.AutoPad,
            ResizeModes = ResizeModes ?? defaults.ResizeModes,
            CoordinateTransformationModes = CoordinateTransformationModes ?? defaults.CoordinateTransformationModes,
            NearestModes = NearestModes ?? defaults.NearestModes,
            Axes = Axes ?? defaults.Axes,
            DataTypes = DataTypes ?? defaults.DataTypes,
            StaticShapes = StaticShapes ?? defaults.StaticShapes,
            MaxRank = MaxRank ?? defaults.MaxRank,
            ClipBounds = ClipBounds ?? defaults.ClipBounds,
            Attributes = Attributes ?? defaults.Attributes,
            Note = Note ?? defaults.Note,
        };
    }
}
