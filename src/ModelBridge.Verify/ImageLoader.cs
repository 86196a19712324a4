using System.Globalization;
using ModelBridge.Ir;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ModelBridge.Verify;

/// <summary>
/// Turns PNG and JPEG images into input tensors, following an <see cref="ImagePreprocessing"/>:
/// one image, or a folder of them as parity samples.
/// </summary>
/// <remarks>
/// Images are decoded with SixLabors.ImageSharp, configured for PNG and JPEG only. PNG decoding is
/// lossless and exact; JPEG decoders differ in their inverse DCT, so a JPEG's pixels may differ by a
/// level or two from libjpeg's (OpenCV, PIL). Reference data that must match another
/// implementation exactly should be PNG.
/// </remarks>
public static class ImageLoader
{
    /// <summary>Images larger than this many pixels are refused before they are decoded.</summary>
    public const long MaxPixels = 1L << 26;

    private static readonly Configuration Decoders = new(new PngConfigurationModule(), new JpegConfigurationModule());

    /// <summary>The file extensions <see cref="FindImages"/> picks up (compared ignoring case).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg"];

    /// <summary>
    /// The PNG and JPEG files directly in <paramref name="directory"/> (not in subfolders), ordered by
    /// file name (ordinal), so the sample order is the same on every machine.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static IReadOnlyList<string> FindImages(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Image folder '{directory}' does not exist.");
        }
        return [.. Directory.EnumerateFiles(directory)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .OrderBy(Path.GetFileName, StringComparer.Ordinal)];
    }

    /// <summary>
    /// One image as a <c>1 x 3 x H x W</c> float32 tensor. H and W are <see cref="ImagePreprocessing.Height"/>
    /// and <see cref="ImagePreprocessing.Width"/> when set, else the image's own.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a readable PNG or JPEG, is too large, or has the wrong size for <see cref="ImageResize.None"/>.</exception>
    public static TensorData Load(string path, ImagePreprocessing? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= ImagePreprocessing.Default;
        return Load(path, options, options.Height, options.Width);
    }

    /// <summary>
    /// Every image in <paramref name="directory"/> (see <see cref="FindImages"/>) as one sample for
    /// <paramref name="model"/>: a tensor for the input <see cref="ImagePreprocessing.InputName"/>, or
    /// for the model's only input. Sizes the options leave open come from the input's fixed
    /// dimensions, else from each image.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="ArgumentException">The folder holds no image, or the model input cannot take images (see <see cref="ResolveInput"/>).</exception>
    /// <exception cref="InvalidDataException">An image is unreadable, too large, or has the wrong size for <see cref="ImageResize.None"/>.</exception>
    public static IReadOnlyList<IReadOnlyDictionary<string, TensorData>> LoadSamples(string directory, Model model, ImagePreprocessing? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= ImagePreprocessing.Default;
        IReadOnlyList<string> files = FindImagesOrThrow(directory);
        (string name, int? height, int? width) = ResolveInput(model, options);
        return [.. files.Select(f => (IReadOnlyDictionary<string, TensorData>)new Dictionary<string, TensorData>(StringComparer.Ordinal)
        {
            [name] = Load(f, options, height, width),
        })];
    }

    /// <summary>
    /// The graph input that takes the images, and the height and width its tensors get
    /// (<see langword="null"/>: each image's own).
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The named input does not exist, or none was named and the model has several; the input is not
    /// float32, not rank 4, has a fixed channel count other than 3, or a fixed batch other than 1.
    /// </exception>
    public static (string Name, int? Height, int? Width) ResolveInput(Model model, ImagePreprocessing options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        Value[] inputs = [.. model.Graph.Inputs.Where(v => v.Initializer is null)];
        Value input;
        if (options.InputName is { } wanted)
        {
            input = inputs.FirstOrDefault(v => v.Name == wanted)
                ?? throw new ArgumentException($"The model has no input '{wanted}'; its inputs are {List(inputs)}.");
        }
        else
        {
            input = inputs.Length == 1
                ? inputs[0]
                : throw new ArgumentException($"The model has {inputs.Length} inputs ({List(inputs)}); name the one that takes the images.");
        }
        if (input.DeclaredType is not { ElementType: DataType.Float, Shape: { Rank: 4 } shape })
        {
            throw new ArgumentException($"Input '{input.Name}' is {input.DeclaredType?.ToString() ?? "untyped"}; images give float32 N x 3 x H x W tensors.");
        }
        if (shape.Dims[1].Value is { } c && c != 3)
        {
            throw new ArgumentException($"Input '{input.Name}' is {input.DeclaredType}: it has {c} channels where images give 3 (N x 3 x H x W).");
        }
        if (shape.Dims[0].Value is { } n && n != 1)
        {
            throw new ArgumentException($"Input '{input.Name}' is {input.DeclaredType}: its batch is fixed at {n}, and each image is one sample of batch 1.");
        }
        return (input.Name, options.Height ?? Fixed(shape.Dims[2]), options.Width ?? Fixed(shape.Dims[3]));
    }

    /// <summary><see cref="FindImages"/>, failing when the folder holds none.</summary>
    internal static IReadOnlyList<string> FindImagesOrThrow(string directory)
    {
        IReadOnlyList<string> files = FindImages(directory);
        return files.Count > 0
            ? files
            : throw new ArgumentException($"Image folder '{directory}' holds no {string.Join("/", Extensions)} files.");
    }

    private static TensorData Load(string path, ImagePreprocessing options, int? height, int? width)
    {
        using Image<Rgb24> image = Decode(path);
        int h = height ?? image.Height;
        int w = width ?? image.Width;
        if (image.Width != w || image.Height != h)
        {
            if (options.Resize == ImageResize.None)
            {
                throw new InvalidDataException($"'{path}' is {image.Width}x{image.Height}; the input takes {w}x{h} and resizing is off.");
            }
            image.Mutate(x => x.Resize(new ResizeOptions
            {
                Size = new Size(w, h),
                Mode = options.Resize == ImageResize.CenterCrop ? ResizeMode.Crop : ResizeMode.Stretch,
                Position = AnchorPositionMode.Center,
                Sampler = KnownResamplers.Triangle,
            }));
        }
        return ToTensor(image, options);
    }

    private static Image<Rgb24> Decode(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Image '{path}' does not exist.", path);
        }
        try
        {
            using FileStream stream = File.OpenRead(path);
            IImageInfo? info = Image.Identify(Decoders, stream);
            if (info is null)
            {
                throw new InvalidDataException($"'{path}' is not a readable PNG or JPEG image.");
            }
            if ((long)info.Width * info.Height > MaxPixels)
            {
                throw new InvalidDataException($"'{path}' is {info.Width}x{info.Height}, more than the {MaxPixels / (1 << 20)} megapixels images may have.");
            }
            stream.Position = 0;
            Image<Rgb24> image = Image.Load<Rgb24>(Decoders, stream);
            image.Mutate(x => x.AutoOrient());
            return image;
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException)
        {
            throw new InvalidDataException($"'{path}' is not a readable PNG or JPEG image: {e.Message}", e);
        }
    }

    private static TensorData ToTensor(Image<Rgb24> image, ImagePreprocessing options)
    {
        int h = image.Height;
        int w = image.Width;
        int plane = h * w;
        // One table per tensor channel: the 256 possible results of the normalisation formula.
        float[][] table = [.. Enumerable.Range(0, 3).Select(c => Enumerable.Range(0, 256).Select(p => options.Normalize((byte)p, c)).ToArray())];
        bool bgr = options.ChannelOrder == ChannelOrder.Bgr;
        var values = new float[3 * plane];
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < h; y++)
            {
                Span<Rgb24> row = rows.GetRowSpan(y);
                int offset = y * w;
                for (int x = 0; x < w; x++)
                {
                    Rgb24 px = row[x];
                    values[offset + x] = table[0][bgr ? px.B : px.R];
                    values[plane + offset + x] = table[1][px.G];
                    values[(2 * plane) + offset + x] = table[2][bgr ? px.R : px.B];
                }
            }
        });
        return TensorData.Create<float>([1, 3, h, w], values);
    }

    private static int? Fixed(Dim dim) => dim.Value is { } v ? checked((int)v) : null;

    private static string List(IEnumerable<Value> inputs) =>
        string.Join(", ", inputs.Select(v => "'" + v.Name + "'")) is { Length: > 0 } s ? s : "none";

    /// <summary>A short description of a folder's images for reports.</summary>
    internal static string Describe(string directory, int count) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} image{(count == 1 ? "" : "s")} in '{Path.GetFileName(Path.TrimEndingDirectorySeparator(directory))}'");
}
