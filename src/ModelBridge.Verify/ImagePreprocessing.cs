using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelBridge.Verify;

/// <summary>The order of the colour channels in the tensor.</summary>
public enum ChannelOrder
{
    /// <summary>Red, green, blue (PyTorch/torchvision, PIL, most exporters' demos).</summary>
    Rgb,

    /// <summary>Blue, green, red: what OpenCV's <c>cv2.imread</c> returns, so models trained on it (PaddleOCR, Caffe) expect it.</summary>
    Bgr,
}

/// <summary>How an image is brought to the tensor's height and width.</summary>
public enum ImageResize
{
    /// <summary>
    /// Scale each axis to the target size independently, ignoring the aspect ratio (bilinear), as
    /// <c>cv2.resize(img, (W, H))</c> does in most detectors' demo code.
    /// </summary>
    Stretch,

    /// <summary>Scale (bilinear, aspect ratio kept) until the image covers the target size, then cut the centre out.</summary>
    CenterCrop,

    /// <summary>No resampling: an image of another size is an error.</summary>
    None,
}

/// <summary>
/// How images become an NCHW float32 input tensor: target size, resize rule, channel order, and the
/// per-channel normalisation <c>value = (pixel * Scale - Mean[c]) / Std[c]</c>.
/// </summary>
/// <remarks>
/// <para>
/// Immutable: the definition. <see cref="ImageLoader"/> carries it out. Every image gives a
/// <c>1 x 3 x H x W</c> float32 tensor. Grayscale and palette images become three equal channels;
/// alpha is ignored (not composited), as <c>cv2.imread(path, IMREAD_COLOR)</c> does; the EXIF
/// orientation is applied.
/// </para>
/// <para>
/// <b>Normalisation.</b> For a pixel value p (0..255) in tensor channel c (after
/// <see cref="ChannelOrder"/>), <c>(p * Scale - Mean[c]) / Std[c]</c>, with every step rounded to
/// float32. This is PaddleOCR's <c>NormalizeImage</c> arithmetic
/// (<c>(img.astype('float32') * scale - mean) / std</c>), so two implementations that follow it
/// agree bit for bit. <see cref="Mean"/> and <see cref="Std"/> are indexed by tensor channel: with
/// <see cref="ChannelOrder.Bgr"/>, <c>Mean[0]</c> applies to blue.
/// </para>
/// <para>
/// <b>Size.</b> Height and width are, each on its own, <see cref="Height"/>/<see cref="Width"/>
/// when set, else the model input's fixed dimension, else the image's own size (the model's
/// dimension is symbolic, so any size runs). An image of another size is then resized by
/// <see cref="Resize"/> with ImageSharp's bilinear (triangle) resampler. ImageSharp widens the
/// kernel when it shrinks an image (like PIL, unlike OpenCV's <c>INTER_LINEAR</c>), so resized
/// pixels are not identical to OpenCV's; an image already at the size is not resampled at all.
/// </para>
/// </remarks>
public sealed record ImagePreprocessing
{
    private readonly int? _width;
    private readonly int? _height;
    private readonly float _scale = 1f / 255f;
    private readonly IReadOnlyList<float> _mean = [0f];
    private readonly IReadOnlyList<float> _std = [1f];

    /// <summary>RGB scaled to [0, 1]: scale 1/255, mean 0, std 1, stretched to the model's size.</summary>
    public static ImagePreprocessing Default { get; } = new();

    /// <summary>Tensor width in pixels; <see langword="null"/> (the default) takes the model's, else the image's.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public int? Width
    {
        get => _width;
        init => _width = value is null or > 0 ? value : throw new ArgumentOutOfRangeException(nameof(Width), value, "Width must be positive.");
    }

    /// <summary>Tensor height in pixels; <see langword="null"/> (the default) takes the model's, else the image's.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public int? Height
    {
        get => _height;
        init => _height = value is null or > 0 ? value : throw new ArgumentOutOfRangeException(nameof(Height), value, "Height must be positive.");
    }

    /// <summary>How an image of another size is brought to the tensor's; <see cref="ImageResize.Stretch"/> by default.</summary>
    public ImageResize Resize { get; init; } = ImageResize.Stretch;

    /// <summary>Channel order of the tensor; <see cref="ChannelOrder.Rgb"/> by default.</summary>
    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;

    /// <summary>Factor applied to the 0..255 pixel value first; 1/255 (as float32) by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero, infinite or NaN.</exception>
    public float Scale
    {
        get => _scale;
        init => _scale = float.IsFinite(value) && value != 0 ? value : throw new ArgumentOutOfRangeException(nameof(Scale), value, "Scale must be finite and non-zero.");
    }

    /// <summary>Subtracted after scaling: one value for all channels, or one per tensor channel; 0 by default.</summary>
    /// <exception cref="ArgumentException">Not 1 or 3 values, or a value is not finite.</exception>
    public IReadOnlyList<float> Mean
    {
        get => _mean;
        init => _mean = CheckChannels(value, nameof(Mean), allowZero: true);
    }

    /// <summary>Divisor applied last: one value for all channels, or one per tensor channel; 1 by default.</summary>
    /// <exception cref="ArgumentException">Not 1 or 3 values, or a value is zero or not finite.</exception>
    public IReadOnlyList<float> Std
    {
        get => _std;
        init => _std = CheckChannels(value, nameof(Std), allowZero: false);
    }

    /// <summary>The graph input that receives the images; <see langword="null"/> (the default) means the model's only one.</summary>
    public string? InputName { get; init; }

    /// <summary>The tensor value of pixel value <paramref name="pixel"/> in tensor channel <paramref name="channel"/> (0..2).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channel"/> is not 0, 1 or 2.</exception>
    public float Normalize(byte pixel, int channel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channel, 2);
        float scaled = pixel * _scale;
        float centred = scaled - (_mean.Count == 1 ? _mean[0] : _mean[channel]);
        return centred / (_std.Count == 1 ? _std[0] : _std[channel]);
    }

    /// <summary>
    /// Reads options from JSON with camelCase names and lower-case enum values, as fixtures'
    /// <c>preprocess.json</c> files hold them:
    /// <c>{"width": 320, "height": 240, "resize": "stretch", "channelOrder": "rgb", "scale": 1, "mean": [127], "std": [128]}</c>.
    /// Members left out keep their defaults.
    /// </summary>
    /// <exception cref="ArgumentException">The text is not such an object, has an unknown member, or a value is out of range.</exception>
    public static ImagePreprocessing FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonSerializer.Deserialize<ImagePreprocessing>(json, JsonOptions)
                ?? throw new ArgumentException("Preprocessing JSON is 'null'; expected an object.");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"Preprocessing JSON is not valid: {e.Message}", e);
        }
    }

    /// <summary>The options as JSON that <see cref="FromJson"/> reads back (unset sizes and input name left out).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };

    /// <summary>For reports: <c>rgb, stretch to 320x240, (p * 1 - [127, 127, 127]) / [128, 128, 128]</c>.</summary>
    public override string ToString()
    {
        string size = Width is null && Height is null
            ? "model or image size"
            : $"{Width?.ToString(CultureInfo.InvariantCulture) ?? "W"}x{Height?.ToString(CultureInfo.InvariantCulture) ?? "H"}";
        string resize = Resize switch
        {
            ImageResize.Stretch => "stretch to ",
            ImageResize.CenterCrop => "centre-crop to ",
            _ => "exactly ",
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"{ChannelOrder.ToString().ToLowerInvariant()}, {resize}{size}, (p * {Scale:G6} - {Format(Mean)}) / {Format(Std)}");
    }

    /// <summary>Value equality, comparing <see cref="Mean"/> and <see cref="Std"/> element by element.</summary>
    public bool Equals(ImagePreprocessing? other) =>
        other is not null && Width == other.Width && Height == other.Height && Resize == other.Resize
        && ChannelOrder == other.ChannelOrder && Scale.Equals(other.Scale) && Mean.SequenceEqual(other.Mean)
        && Std.SequenceEqual(other.Std) && string.Equals(InputName, other.InputName, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Width, Height, Resize, ChannelOrder, Scale, Mean.Count, Std.Count, InputName);

    private static float[] CheckChannels(IReadOnlyList<float> values, string name, bool allowZero)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Count is not (1 or 3))
        {
            throw new ArgumentException($"{name} takes 1 value (all channels) or 3 (one per channel), got {values.Count}.", name);
        }
        foreach (float v in values)
        {
            if (!float.IsFinite(v) || (!allowZero && v == 0))
            {
                throw new ArgumentException($"{name} values must be finite{(allowZero ? "" : " and non-zero")}, got {v.ToString(CultureInfo.InvariantCulture)}.", name);
            }
        }
        return [.. values];
    }

    private static string Format(IReadOnlyList<float> values) =>
        values.Count == 1
            ? values[0].ToString("G6", CultureInfo.InvariantCulture)
            : "[" + string.Join(", ", values.Select(v => v.ToString("G6", CultureInfo.InvariantCulture))) + "]";
}
