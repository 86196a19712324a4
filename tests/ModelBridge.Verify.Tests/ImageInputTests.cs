using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ModelBridge.Verify.Tests;

/// <summary>
/// <see cref="ImagePreprocessing"/> and <see cref="ImageLoader"/> on small images with known pixels,
/// against the formula <c>(p * scale - mean[c]) / std[c]</c> evaluated in double precision.
/// (RealFixtureTests checks the same code bit for bit against numpy on real photographs.)
/// </summary>
[TestFixture]
public sealed class ImageInputTests
{
    /// <summary>A 3x2 RGB image whose every channel value is different.</summary>
    private static readonly Rgb24[,] Pixels =
    {
        { new(0, 1, 2), new(10, 20, 30), new(255, 128, 64) },
        { new(200, 100, 50), new(7, 77, 177), new(254, 253, 127) },
    };

    private static string WriteRgb(TempDir dir, string name)
    {
        using var image = new Image<Rgb24>(3, 2);
        for (int y = 0; y < 2; y++)
        {
            for (int x = 0; x < 3; x++)
            {
                image[x, y] = Pixels[y, x];
            }
        }
        string path = dir.File(name);
        image.SaveAsPng(path);
        return path;
    }

    private static string WriteSolid<TPixel>(TempDir dir, string name, int width, int height, TPixel pixel)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        using var image = new Image<TPixel>(width, height, pixel);
        string path = dir.File(name);
        image.Save(path);
        return path;
    }

    private static float At(TensorData t, int c, int y, int x) => t.AsFloatSpan()[(int)((c * t.Dims[2] * t.Dims[3]) + (y * t.Dims[3]) + x)];

    private static double Formula(byte p, double scale, double mean, double std) => ((p * scale) - mean) / std;

    [Test]
    public void Rgb_tensor_is_nchw_and_follows_the_formula_per_channel()
    {
        using var dir = TestPaths.NewTempDir();
        var options = new ImagePreprocessing { Scale = 1f / 255f, Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f] };

        TensorData t = ImageLoader.Load(WriteRgb(dir, "a.png"), options);

        Assert.That(t.ElementType, Is.EqualTo(DataType.Float));
        Assert.That(t.Dims, Is.EqualTo(new long[] { 1, 3, 2, 3 }));
        Assert.Multiple(() =>
        {
            for (int y = 0; y < 2; y++)
            {
                for (int x = 0; x < 3; x++)
                {
                    Rgb24 p = Pixels[y, x];
                    Assert.That(At(t, 0, y, x), Is.EqualTo(Formula(p.R, 1 / 255.0, 0.485, 0.229)).Within(2e-6), $"R at {x},{y}");
                    Assert.That(At(t, 1, y, x), Is.EqualTo(Formula(p.G, 1 / 255.0, 0.456, 0.224)).Within(2e-6), $"G at {x},{y}");
                    Assert.That(At(t, 2, y, x), Is.EqualTo(Formula(p.B, 1 / 255.0, 0.406, 0.225)).Within(2e-6), $"B at {x},{y}");
                }
            }
        });
    }

    [Test]
    public void Bgr_puts_blue_first_and_indexes_mean_and_std_by_tensor_channel()
    {
        using var dir = TestPaths.NewTempDir();
        // Mean[0] belongs to the first tensor channel, which is blue: PaddleOCR's convention.
        var options = new ImagePreprocessing { ChannelOrder = ChannelOrder.Bgr, Scale = 1, Mean = [100, 0, -100], Std = [2, 4, 8] };

        TensorData t = ImageLoader.Load(WriteRgb(dir, "a.png"), options);

        // Pixel (255, 128, 64): blue 64 -> (64 - 100) / 2, green (128 - 0) / 4, red (255 + 100) / 8; exact in float.
        Assert.That(At(t, 0, 0, 2), Is.EqualTo(-18f));
        Assert.That(At(t, 1, 0, 2), Is.EqualTo(32f));
        Assert.That(At(t, 2, 0, 2), Is.EqualTo(44.375f));
    }

    [Test]
    public void Ultra_light_normalisation_is_exact()
    {
        using var dir = TestPaths.NewTempDir();
        var options = new ImagePreprocessing { Scale = 1, Mean = [127], Std = [128] };

        TensorData t = ImageLoader.Load(WriteRgb(dir, "a.png"), options);

        // (p - 127) / 128 is exact in float32 for every 8-bit p.
        Assert.That(At(t, 0, 1, 0), Is.EqualTo((200 - 127) / 128f));
        Assert.That(At(t, 2, 0, 0), Is.EqualTo(-125 / 128f));
        Assert.That(At(t, 1, 1, 2), Is.EqualTo(126 / 128f));
    }

    [Test]
    public void Grayscale_images_become_three_equal_channels_and_alpha_is_ignored()
    {
        using var dir = TestPaths.NewTempDir();
        string gray = WriteSolid(dir, "g.png", 4, 3, new L8(90));
        string rgba = WriteSolid(dir, "t.png", 4, 3, new Rgba32(10, 20, 30, 0));
        var options = new ImagePreprocessing { Scale = 1 };

        TensorData g = ImageLoader.Load(gray, options);
        TensorData a = ImageLoader.Load(rgba, options);

        Assert.That(g.Dims, Is.EqualTo(new long[] { 1, 3, 3, 4 }));
        Assert.That(g.ToFloatArray(), Has.All.EqualTo(90f));
        Assert.That(new[] { At(a, 0, 1, 1), At(a, 1, 1, 1), At(a, 2, 1, 1) }, Is.EqualTo(new[] { 10f, 20f, 30f }), "fully transparent pixels keep their colour");
    }

    [Test]
    public void Stretch_resizes_to_the_given_size()
    {
        using var dir = TestPaths.NewTempDir();
        string path = WriteSolid(dir, "s.png", 10, 7, new Rgb24(40, 80, 120));

        TensorData t = ImageLoader.Load(path, new ImagePreprocessing { Width = 6, Height = 4, Scale = 1 });

        Assert.That(t.Dims, Is.EqualTo(new long[] { 1, 3, 4, 6 }));
        Assert.That(At(t, 0, 3, 5), Is.EqualTo(40f).Within(0.5));
        Assert.That(At(t, 2, 0, 0), Is.EqualTo(120f).Within(0.5));
    }

    [Test]
    public void Center_crop_keeps_the_middle_of_a_wide_image()
    {
        using var dir = TestPaths.NewTempDir();
        // 8x4: red in columns 0-1, green in 2-5, blue in 6-7. Covering 4x4 needs no scaling, and the
        // centred 4x4 window is columns 2-5.
        using (var image = new Image<Rgb24>(8, 4))
        {
            for (int y = 0; y < 4; y++)
            {
                for (int x = 0; x < 8; x++)
                {
                    image[x, y] = x < 2 ? new Rgb24(255, 0, 0) : x < 6 ? new Rgb24(0, 255, 0) : new Rgb24(0, 0, 255);
                }
            }
            image.SaveAsPng(dir.File("wide.png"));
        }

        TensorData t = ImageLoader.Load(dir.File("wide.png"), new ImagePreprocessing { Width = 4, Height = 4, Resize = ImageResize.CenterCrop, Scale = 1 });

        float[] v = t.ToFloatArray();
        Assert.That(v[..16], Has.All.EqualTo(0f), "red");
        Assert.That(v[16..32], Has.All.EqualTo(255f), "green");
        Assert.That(v[32..], Has.All.EqualTo(0f), "blue");
    }

    [Test]
    public void Jpeg_images_load()
    {
        using var dir = TestPaths.NewTempDir();
        string path = WriteSolid(dir, "c.jpg", 16, 16, new Rgb24(200, 100, 50));

        TensorData t = ImageLoader.Load(path, new ImagePreprocessing { Scale = 1 });

        // Lossy: a flat colour survives to within a few levels.
        Assert.That(At(t, 0, 8, 8), Is.EqualTo(200f).Within(3));
        Assert.That(At(t, 1, 8, 8), Is.EqualTo(100f).Within(3));
        Assert.That(At(t, 2, 8, 8), Is.EqualTo(50f).Within(3));
    }

    [Test]
    public void Folder_order_is_by_file_name_and_only_png_and_jpeg_count()
    {
        using var dir = TestPaths.NewTempDir();
        WriteSolid(dir, "b.PNG", 2, 2, new L8(2));
        WriteSolid(dir, "a.jpeg", 2, 2, new L8(1));
        WriteSolid(dir, "c.bmp", 2, 2, new L8(3));
        File.WriteAllText(dir.File("notes.txt"), "not an image");
        Directory.CreateDirectory(dir.File("sub.png"));

        IReadOnlyList<string> files = ImageLoader.FindImages(dir.Path);

        Assert.That(files.Select(Path.GetFileName), Is.EqualTo(new[] { "a.jpeg", "b.PNG" }));
    }

    [Test]
    public void Samples_take_the_size_of_the_models_input_and_its_name()
    {
        using var dir = TestPaths.NewTempDir();
        WriteSolid(dir, "1.png", 9, 9, new Rgb24(1, 2, 3));
        WriteSolid(dir, "0.png", 5, 5, new Rgb24(4, 5, 6));
        using Model model = TestModels.Identity(DataType.Float, 1, 3, 4, 6);

        var samples = ImageLoader.LoadSamples(dir.Path, model, new ImagePreprocessing { Scale = 1 });

        Assert.That(samples, Has.Count.EqualTo(2));
        Assert.That(samples[0]["x"].Dims, Is.EqualTo(new long[] { 1, 3, 4, 6 }));
        Assert.That(At(samples[0]["x"], 0, 0, 0), Is.EqualTo(4f).Within(0.5), "0.png comes first");
        Assert.That(At(samples[1]["x"], 2, 3, 5), Is.EqualTo(3f).Within(0.5));
    }

    [Test]
    public void Symbolic_sizes_keep_each_images_own_size()
    {
        using var dir = TestPaths.NewTempDir();
        WriteSolid(dir, "0.png", 5, 3, new L8(0));
        WriteSolid(dir, "1.png", 2, 7, new L8(0));
        using var model = new Model(opsetVersion: 17);
        Value x = model.Graph.AddInput("img", new TensorType(DataType.Float, new TensorShape([Dim.Sym("N"), Dim.Of(3), Dim.Sym("H"), Dim.Sym("W")])));
        model.Graph.SetOutputs([model.Graph.AddNode("Identity", [x], ["y"]).Outputs[0]!]);

        var samples = ImageLoader.LoadSamples(dir.Path, model);

        Assert.That(samples.Select(s => s["img"].Dims.ToArray()), Is.EqualTo(new[] { new long[] { 1, 3, 3, 5 }, [1, 3, 7, 2] }));
    }

    [Test]
    public void Unreadable_image_is_one_line_naming_the_file()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllBytes(dir.File("broken.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        File.WriteAllText(dir.File("text.jpg"), "hello");

        var broken = Assert.Throws<InvalidDataException>(() => ImageLoader.Load(dir.File("broken.png")));
        var text = Assert.Throws<InvalidDataException>(() => ImageLoader.Load(dir.File("text.jpg")));

        Assert.That(broken!.Message, Does.StartWith($"'{dir.File("broken.png")}' is not a readable PNG or JPEG image").And.Not.Contain('\n'));
        Assert.That(text!.Message, Does.StartWith($"'{dir.File("text.jpg")}' is not a readable PNG or JPEG image").And.Not.Contain('\n'));
        Assert.That(() => ImageLoader.Load(dir.File("missing.png")), Throws.InstanceOf<FileNotFoundException>().With.Message.Contains("missing.png"));
    }

    [Test]
    public void Resize_none_refuses_an_image_of_another_size()
    {
        using var dir = TestPaths.NewTempDir();
        string path = WriteSolid(dir, "s.png", 10, 7, new L8(0));

        var e = Assert.Throws<InvalidDataException>(() => ImageLoader.Load(path, new ImagePreprocessing { Width = 8, Height = 8, Resize = ImageResize.None }));

        Assert.That(e!.Message, Is.EqualTo($"'{path}' is 10x7; the input takes 8x8 and resizing is off."));
    }

    [Test]
    public void Folders_without_images_and_missing_folders_are_refused()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("readme.txt"), "x");
        using Model model = TestModels.Identity(DataType.Float, 1, 3, 4, 4);

        Assert.That(() => ImageLoader.LoadSamples(dir.Path, model), Throws.ArgumentException.With.Message.EqualTo($"Image folder '{dir.Path}' holds no .png/.jpg/.jpeg files."));
        Assert.That(() => ParityInputs.FromImages(dir.Path), Throws.ArgumentException);
        Assert.That(() => ParityInputs.FromImages(dir.File("nope")), Throws.InstanceOf<DirectoryNotFoundException>().With.Message.Contains("nope"));
    }

    [Test]
    public void Inputs_that_cannot_take_images_are_named_in_the_error()
    {
        using Model twoInputs = new(opsetVersion: 17);
        Value a = twoInputs.Graph.AddInput("a", new TensorType(DataType.Float, TensorShape.Of(1, 3, 4, 4)));
        Value b = twoInputs.Graph.AddInput("b", new TensorType(DataType.Float, TensorShape.Of(1, 3, 4, 4)));
        twoInputs.Graph.SetOutputs([twoInputs.Graph.AddNode("Add", [a, b], ["y"]).Outputs[0]!]);
        using Model gray = TestModels.Identity(DataType.Float, 1, 1, 4, 4);
        using Model batch = TestModels.Identity(DataType.Float, 2, 3, 4, 4);
        using Model ints = TestModels.Identity(DataType.UInt8, 1, 3, 4, 4);
        using Model flat = TestModels.Identity(DataType.Float, 1, 48);

        Assert.Multiple(() =>
        {
            Assert.That(() => ImageLoader.ResolveInput(twoInputs, ImagePreprocessing.Default), Throws.ArgumentException.With.Message.Contains("2 inputs ('a', 'b')"));
            Assert.That(ImageLoader.ResolveInput(twoInputs, new ImagePreprocessing { InputName = "b" }), Is.EqualTo(("b", (int?)4, (int?)4)));
            Assert.That(() => ImageLoader.ResolveInput(twoInputs, new ImagePreprocessing { InputName = "c" }), Throws.ArgumentException.With.Message.Contains("no input 'c'"));
            Assert.That(() => ImageLoader.ResolveInput(gray, ImagePreprocessing.Default), Throws.ArgumentException.With.Message.Contains("1 channels"));
            Assert.That(() => ImageLoader.ResolveInput(batch, ImagePreprocessing.Default), Throws.ArgumentException.With.Message.Contains("batch is fixed at 2"));
            Assert.That(() => ImageLoader.ResolveInput(ints, ImagePreprocessing.Default), Throws.ArgumentException.With.Message.Contains("uint8"));
            Assert.That(() => ImageLoader.ResolveInput(flat, ImagePreprocessing.Default), Throws.ArgumentException.With.Message.Contains("N x 3 x H x W"));
        });
    }

    [Test]
    public void Bad_options_are_refused_when_set()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new ImagePreprocessing { Width = 0 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new ImagePreprocessing { Height = -3 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new ImagePreprocessing { Scale = 0 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new ImagePreprocessing { Scale = float.NaN }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new ImagePreprocessing { Mean = [1, 2] }, Throws.ArgumentException.With.Message.Contains("Mean takes 1 value (all channels) or 3"));
            Assert.That(() => new ImagePreprocessing { Std = [1, 0, 1] }, Throws.ArgumentException.With.Message.Contains("non-zero"));
            Assert.That(() => new ImagePreprocessing { Mean = [float.PositiveInfinity] }, Throws.ArgumentException.With.Message.Contains("finite"));
        });
    }

    [Test]
    public void Options_are_immutable_copies_of_the_lists_given()
    {
        var mean = new List<float> { 1, 2, 3 };
        var options = new ImagePreprocessing { Mean = mean };

        mean[0] = 99;

        Assert.That(options.Mean, Is.EqualTo(new[] { 1f, 2f, 3f }));
        Assert.That(options, Is.EqualTo(new ImagePreprocessing { Mean = [1, 2, 3] }));
        Assert.That(options, Is.Not.EqualTo(new ImagePreprocessing { Mean = [1, 2, 4] }));
    }

    [Test]
    public void Json_round_trips_and_rejects_unknown_members()
    {
        var options = new ImagePreprocessing { Width = 320, Height = 240, Resize = ImageResize.CenterCrop, ChannelOrder = ChannelOrder.Bgr, Scale = 1, Mean = [127], Std = [128, 64, 32], InputName = "input" };

        string json = options.ToJson();

        Assert.That(json, Does.Contain("\"channelOrder\": \"bgr\"").And.Contain("\"resize\": \"centerCrop\""));
        Assert.That(ImagePreprocessing.FromJson(json), Is.EqualTo(options));
        Assert.That(ImagePreprocessing.FromJson("{}"), Is.EqualTo(ImagePreprocessing.Default));
        Assert.That(() => ImagePreprocessing.FromJson("{\"channels\": 3}"), Throws.ArgumentException.With.Message.StartsWith("Preprocessing JSON is not valid"));
        Assert.That(() => ImagePreprocessing.FromJson("{\"channelOrder\": \"rbg\"}"), Throws.ArgumentException);
        Assert.That(() => ImagePreprocessing.FromJson("{\"scale\": 0}"), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => ImagePreprocessing.FromJson("null"), Throws.ArgumentException);
    }

    [Test]
    public void Description_names_order_size_and_formula()
    {
        var options = new ImagePreprocessing { Width = 320, Height = 240, Scale = 1, Mean = [127, 127, 127], Std = [128, 128, 128] };

        Assert.That(options.ToString(), Is.EqualTo("rgb, stretch to 320x240, (p * 1 - [127, 127, 127]) / [128, 128, 128]"));
        Assert.That(ImagePreprocessing.Default.ToString(), Is.EqualTo("rgb, stretch to model or image size, (p * 0.00392157 - 0) / 1"));
    }
}
