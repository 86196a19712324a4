using BenchmarkDotNet.Attributes;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Shapes;

namespace ModelBridge.Benchmarks.Pipeline;

/// <summary>
/// Shape inference and the full <c>convert</c> pipeline on the large GroupNorm detector, against
/// the load + save floor of the same file (plain protobuf parse + write) measured in the same run.
/// </summary>
[MemoryDiagnoser]
public class ConvertBenchmarks
{
    private string _path = string.Empty;
    private Model? _model;

    /// <summary>Size of the generated model in MB.</summary>
    [Params(150)]
    public int Megabytes { get; set; }

    /// <summary>Builds (or reuses) the model file and loads it once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _path = LargeModel.Path(Megabytes);
        _model = Model.Load(_path);
    }

    /// <summary>Releases the loaded model.</summary>
    [GlobalCleanup]
    public void Cleanup() => _model?.Dispose();

    /// <summary>The floor: plain protobuf parse + write of the file.</summary>
    [Benchmark(Baseline = true)]
    public long LoadSaveFloor()
    {
        var proto = LargeModel.ParsePlain(File.ReadAllBytes(_path));
        var sink = new Io.CountingStream();
        LargeModel.WritePlain(proto, sink);
        return sink.Length;
    }

    /// <summary>Shape inference over the loaded graph.</summary>
    [Benchmark]
    public int ShapeInferenceOnly() => ShapeInference.Run(_model!.Graph).InferredCount;

    /// <summary>Load, convert for ort-nnapi (fuse + decompose 60+ GroupNorms), save.</summary>
    [Benchmark]
    public long ConvertNnapi() => Convert("ort-nnapi");

    /// <summary>Load, convert for tflite-builtins, save.</summary>
    [Benchmark]
    public long ConvertTflite() => Convert("tflite-builtins");

    private long Convert(string target)
    {
        using Model m = Model.Load(_path);
        ConversionResult r = ModelConverter.Convert(m, TargetProfile.BuiltIn(target), new ConvertOptions { ValidateAfterEachPass = false });
        using Model converted = r.Model;
        var sink = new Io.CountingStream();
        converted.Save(sink);
        return sink.Length;
    }
}
