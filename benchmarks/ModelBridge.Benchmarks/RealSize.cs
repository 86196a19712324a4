using System.Diagnostics;
using ModelBridge.Ir;
using ModelBridge.Profiles;

namespace ModelBridge.Benchmarks;

/// <summary>
/// The real-size inputs of issue 17, generated on first use into benchmarks/data (git-ignored):
/// the full-size GroupNorm RetinaNet (ResNet50-FPN, 320x320, ~153 MB, by generate_retinanet.py),
/// its ort-nnapi conversion with the tensor map, and a 640x640 input for the PaddleOCR detector.
/// </summary>
public static class RealSize
{
    /// <summary>The repository root.</summary>
    public static string Root => Path.GetDirectoryName(Runtime.Fixtures.Root)!;

    /// <summary>benchmarks/data.</summary>
    public static string Data => Path.Combine(Root, "benchmarks", "data");

    /// <summary>The generated RetinaNet's model.onnx (generated when missing).</summary>
    public static string RetinaNet
    {
        get
        {
            string path = Path.Combine(Data, "retinanet_r50_gn_320", "model.onnx");
            if (!File.Exists(path))
            {
                Python(Path.Combine(Root, "benchmarks", "generate_retinanet.py"), Data);
            }
            return path;
        }
    }

    /// <summary>The RetinaNet's test_data_set_0 (PyTorch's input and outputs).</summary>
    public static string RetinaNetInputs => Path.Combine(Path.GetDirectoryName(RetinaNet)!, "test_data_set_0");

    /// <summary>The RetinaNet converted for ort-nnapi (and its .map.json beside it), converted when missing.</summary>
    public static string ConvertedRetinaNet => ConvertedForNnapi(RetinaNet, "retinanet-ort-nnapi.onnx");

    /// <summary>The PaddleOCR v4 detector from the shared real models.</summary>
    public static string OcrDetector
    {
        get
        {
            foreach (string candidate in new[] { Path.Combine(Root, "..", "..", "shared", "real-models"), "/work/shared/real-models" })
            {
                string path = Path.GetFullPath(Path.Combine(candidate, "ch_PP-OCRv4_det_infer.onnx"));
                if (File.Exists(path))
                {
                    return path;
                }
            }
            throw new FileNotFoundException("ch_PP-OCRv4_det_infer.onnx not found under shared/real-models.");
        }
    }

    /// <summary>The detector converted for ort-nnapi (map beside it), converted when missing.</summary>
    public static string ConvertedOcrDetector => ConvertedForNnapi(OcrDetector, "ppocr-det-ort-nnapi.onnx");

    /// <summary><paramref name="source"/> converted for ort-nnapi into work/<paramref name="name"/> (map beside it), when missing.</summary>
    private static string ConvertedForNnapi(string source, string name)
    {
        string path = Path.Combine(Data, "work", name);
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using Model original = Model.Load(source);
            ConversionResult r = ModelConverter.Convert(original, TargetProfile.BuiltIn("ort-nnapi"));
            using Model converted = r.Model;
            File.WriteAllText(MapOf(path), r.TensorMap.ToJson());
            converted.Save(path);
        }
        return path;
    }

    /// <summary>The 1x3x640x640 page input of the detector (generated when missing).</summary>
    public static string OcrInputs
    {
        get
        {
            string dir = Path.Combine(Data, "ppocr_det_640", "test_data_set_0");
            if (!File.Exists(Path.Combine(dir, "input_0.pb")))
            {
                Python(Path.Combine(Root, "benchmarks", "ocr_input.py"), Data);
            }
            return dir;
        }
    }

    /// <summary>The published CLI (ReadyToRun, as packed) under benchmarks/data/bin/cli, published when missing.</summary>
    public static string Cli
    {
        get
        {
            string path = Path.Combine(Data, "bin", "cli", "ModelBridge.Cli");
            if (!File.Exists(path))
            {
                Run("dotnet", ["publish", "-c", "Release", Path.Combine(Root, "src", "ModelBridge.Cli"), "-o", Path.GetDirectoryName(path)!, "-v", "q", "-nologo"]);
            }
            return path;
        }
    }

    /// <summary><c>x.onnx</c> → <c>x.map.json</c>.</summary>
    public static string MapOf(string modelPath) => Path.ChangeExtension(modelPath, null) + ".map.json";

    /// <summary>Runs a process to its end; throws when it fails. Output is discarded.</summary>
    public static void Run(string file, IReadOnlyList<string> args, bool allowFailure = false)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"Cannot start {file}.");
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        p.WaitForExit();
        if (p.ExitCode != 0 && !allowFailure)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {p.ExitCode}.");
        }
    }

    private static void Python(string script, string outDir) => Run("/usr/bin/python3", [script, outDir]);
}
