using BenchmarkDotNet.Attributes;
using ModelBridge.Ir;
using ModelBridge.Profiles;

namespace ModelBridge.Benchmarks.Pipeline;

/// <summary>
/// <c>convert --target ort-nnapi</c> of the real-size GroupNorm RetinaNet (153 MB) against the floor
/// of issue 17, Python's <c>onnx.save(onnx.load(m))</c> run as a process; the CLI is measured as a
/// process too (the figure a user meets) and in-process (load, convert, stream to the file).
/// </summary>
[MemoryDiagnoser]
[WarmupCount(1)]
[IterationCount(5)]
public class RealSizeConvertBenchmarks
{
    private string _model = string.Empty;
    private string _out = string.Empty;
    private string _cli = string.Empty;

    /// <summary>Generates (or reuses) the model and the published CLI.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _model = RealSize.RetinaNet;
        _cli = RealSize.Cli;
        _out = Path.Combine(RealSize.Data, "work", "bdn-convert.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(_out)!);
    }

    /// <summary>The floor: python3 -c "onnx.save(onnx.load(m), out)" (Debian's python3-onnx), a whole process.</summary>
    [Benchmark(Baseline = true)]
    public void PythonOnnxLoadSave() =>
        RealSize.Run("/usr/bin/python3", ["-c", "import onnx, sys; onnx.save(onnx.load(sys.argv[1]), sys.argv[2])", _model, _out]);

    /// <summary><c>modelbridge convert --target ort-nnapi</c>, the published tool, a whole process.</summary>
    [Benchmark]
    public void CliConvertProcess() => RealSize.Run(_cli, ["convert", _model, "--target", "ort-nnapi", "-o", _out, "--force"]);

    /// <summary>The same in this process: load (mapped), convert, save (streamed to the atomic file).</summary>
    [Benchmark]
    public void ConvertInProcess()
    {
        using Model m = Model.Load(_model);
        ConversionResult r = ModelConverter.Convert(m, TargetProfile.BuiltIn("ort-nnapi"));
        using Model converted = r.Model;
        converted.Save(_out);
    }
}
