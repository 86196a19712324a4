using System.CommandLine;
using System.Globalization;
using ModelBridge.Ir;
using ModelBridge.Verify;

namespace ModelBridge.Cli;

/// <summary>
/// How folders of inputs are read (<c>verify --inputs</c>, <c>convert --calibration/--holdout</c>): ONNX
/// test-data folders, or PNG/JPEG images preprocessed by <c>--preprocess</c> and the options that override it.
/// </summary>
/// <remarks>
/// Images become <c>1 x 3 x H x W</c> float tensors, <c>(pixel * scale - mean[c]) / std[c]</c> per tensor channel
/// c after the channel order (<see cref="ImagePreprocessing"/>). H and W are the model input's fixed
/// dimensions, or those <c>--input-shape</c>/<c>--set-dim</c> pin, else each image's own; images of another
/// size are resized by <c>--resize</c>.
/// </remarks>
internal sealed class ImageInputOptions
{
    /// <summary><c>--preprocess FILE.json</c>.</summary>
    public Option<FileInfo?> Preprocess { get; } = new("--preprocess")
    {
        Description = "Image preprocessing as JSON (e.g. fixtures/real/*/preprocess.json): width, height, resize, channelOrder, scale, mean, std",
        HelpName = "FILE.json",
    };

    /// <summary><c>--channel-order</c>.</summary>
    public Option<string?> ChannelOrder { get; } = new("--channel-order") { Description = "Image channel order in the tensor: rgb (default) or bgr", HelpName = "rgb|bgr" };

    /// <summary><c>--scale</c>.</summary>
    public Option<string?> Scale { get; } = new("--scale") { Description = "Factor applied to 0..255 pixel values first (default 1/255)", HelpName = "S" };

    /// <summary><c>--mean</c>.</summary>
    public Option<string?> Mean { get; } = new("--mean") { Description = "Subtracted after scaling: one value or three, per tensor channel (default 0)", HelpName = "M[,M,M]" };

    /// <summary><c>--std</c>.</summary>
    public Option<string?> Std { get; } = new("--std") { Description = "Divisor applied last: one value or three, per tensor channel (default 1)", HelpName = "S[,S,S]" };

    /// <summary><c>--resize</c>.</summary>
    public Option<string?> Resize { get; } = new("--resize") { Description = "How images of another size are fitted: stretch (default), center-crop or none", HelpName = "MODE" };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        ChannelOrder.CompletionSources.Add("rgb", "bgr");
        Resize.CompletionSources.Add("stretch", "center-crop", "none");
        foreach (Option o in new Option[] { Preprocess, ChannelOrder, Scale, Mean, Std, Resize })
        {
            command.Options.Add(o);
        }
    }

    /// <summary>True when any image option was given.</summary>
    public bool AnyGiven(ParseResult parse) =>
        parse.GetValue(Preprocess) is not null || parse.GetValue(ChannelOrder) is not null || parse.GetValue(Scale) is not null
        || parse.GetValue(Mean) is not null || parse.GetValue(Std) is not null || parse.GetValue(Resize) is not null;

    /// <summary>The preprocessing: <c>--preprocess</c>'s (or the default), overridden by the other options, sized for <paramref name="model"/>.</summary>
    public ImagePreprocessing Resolve(ParseResult parse, Model model, IReadOnlyDictionary<string, long> dims)
    {
        ImagePreprocessing p = ImagePreprocessing.Default;
        if (parse.GetValue(Preprocess) is { } file)
        {
            if (!file.Exists)
            {
                throw CliException.Usage($"--preprocess: '{file.FullName}' does not exist.");
            }
            try
            {
                p = ImagePreprocessing.FromJson(File.ReadAllText(file.FullName));
            }
            catch (ArgumentException ex)
            {
                throw CliException.Usage($"--preprocess '{file.FullName}': {ex.Message}", ex);
            }
        }
        try
        {
            p = parse.GetValue(ChannelOrder) switch
            {
                null => p,
                "rgb" => p with { ChannelOrder = Verify.ChannelOrder.Rgb },
                "bgr" => p with { ChannelOrder = Verify.ChannelOrder.Bgr },
                var other => throw CliException.Usage($"--channel-order expects rgb or bgr, got '{other}'."),
            };
            p = parse.GetValue(Resize) switch
            {
                null => p,
                "stretch" => p with { Resize = ImageResize.Stretch },
                "center-crop" => p with { Resize = ImageResize.CenterCrop },
                "none" => p with { Resize = ImageResize.None },
                var other => throw CliException.Usage($"--resize expects stretch, center-crop or none, got '{other}'."),
            };
            if (parse.GetValue(Scale) is { } scale)
            {
                p = p with { Scale = Numbers(scale, "--scale", 1)[0] };
            }
            if (parse.GetValue(Mean) is { } mean)
            {
                p = p with { Mean = Numbers(mean, "--mean", 3) };
            }
            if (parse.GetValue(Std) is { } std)
            {
                p = p with { Std = Numbers(std, "--std", 3) };
            }
        }
        catch (ArgumentException ex)
        {
            throw CliException.Usage(ex.Message, ex);
        }
        return Sized(p, model, dims);
    }

    /// <summary>
    /// The samples in <paramref name="dir"/>: its <c>test_data_set_N</c> folders, the folder itself when it holds
    /// <c>input_K.pb</c> files, else its images.
    /// </summary>
    public ParityInputs Samples(ParseResult parse, DirectoryInfo dir, string flag, Model model, IReadOnlyDictionary<string, long> dims)
    {
        if (!dir.Exists)
        {
            throw CliException.Usage($"{flag}: folder '{dir.FullName}' does not exist.");
        }
        IReadOnlyList<string> folders = TestDataSet.FindFolders(dir.FullName);
        if (folders.Count > 0)
        {
            return ParityInputs.FromTestData(folders);
        }
        if (Directory.EnumerateFiles(dir.FullName, "input_*.pb").Any())
        {
            return ParityInputs.FromTestData([dir.FullName]);
        }
        if (ImageLoader.FindImages(dir.FullName).Count == 0)
        {
            throw CliException.Usage($"{flag}: folder '{dir.FullName}' holds no test_data_set_* folders, input_K.pb files or {string.Join("/", ImageLoader.Extensions)} images.");
        }
        ImagePreprocessing preprocessing = Resolve(parse, model, dims);
        try
        {
            ImageLoader.ResolveInput(model, preprocessing);
        }
        catch (ArgumentException ex)
        {
            throw CliException.Usage($"{flag}: the images cannot feed this model: {ex.Message}", ex);
        }
        return ParityInputs.FromImages(dir.FullName, preprocessing);
    }

    /// <summary>Height and width from the pinned dims when the model's image input leaves them symbolic and the options do not set them.</summary>
    private static ImagePreprocessing Sized(ImagePreprocessing p, Model model, IReadOnlyDictionary<string, long> dims)
    {
        Value[] inputs = [.. model.Graph.Inputs.Where(v => v.Initializer is null)];
        Value? input = p.InputName is { } n ? inputs.FirstOrDefault(v => v.Name == n) : inputs.Length == 1 ? inputs[0] : null;
        if (input?.DeclaredType?.Shape is not { Rank: 4 } shape)
        {
            return p;
        }
        int? Pinned(Dim d) => d.Value is null && d.Symbol is { } s && dims.TryGetValue(s, out long v) ? checked((int)v) : null;
        return p with { Height = p.Height ?? Pinned(shape.Dims[2]), Width = p.Width ?? Pinned(shape.Dims[3]) };
    }

    private static float[] Numbers(string text, string flag, int max)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 1 && parts.Length != max)
        {
            throw CliException.Usage($"{flag} expects {(max == 1 ? "one number" : "one number or three, comma-separated")}, got '{text}'.");
        }
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !float.IsFinite(values[i]))
            {
                throw CliException.Usage($"{flag} expects finite numbers such as 0.485,0.456,0.406; '{parts[i]}' in '{text}' is not one.");
            }
        }
        return values;
    }
}
