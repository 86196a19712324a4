using BenchmarkDotNet.Attributes;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Verify;

namespace ModelBridge.Benchmarks.Verify;

/// <summary>
/// Layer-by-layer verification of the largest detector fixture, against the floor: running the
/// original and the converted model once each without extra outputs (sessions created in both).
/// </summary>
[MemoryDiagnoser]
public class ParityBenchmarks
{
    private Model? _original;
    private ConversionResult? _conversion;
    private IReadOnlyDictionary<string, TensorData>? _inputs;

    /// <summary>Fixture verified.</summary>
    [Params("retinanet_mbv2_gn_op13")]
    public string Fixture { get; set; } = string.Empty;

    /// <summary>Loads and converts for ort-nnapi once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        string dir = Path.Combine(Runtime.Fixtures.Root, Fixture);
        _original = Model.Load(Path.Combine(dir, "model.onnx"));
        _inputs = TestDataSet.Read(Path.Combine(dir, "test_data_set_0"), _original).InputsByName();
        _conversion = ModelConverter.Convert(_original, TargetProfile.BuiltIn("ort-nnapi"),
            new ConvertOptions { Dims = new Dictionary<string, long> { ["N"] = 1 } });
    }

    /// <summary>Releases the models.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _conversion?.Model.Dispose();
        _original?.Dispose();
    }

    /// <summary>The floor: both models run once, no extra outputs.</summary>
    [Benchmark(Baseline = true)]
    public int TwoPlainInferences()
    {
        var options = new OrtRunnerOptions { Optimization = GraphOptimization.Disabled };
        using var a = new OrtRunner(_original!, options);
        using var b = new OrtRunner(_conversion!.Model, options);
        return a.Run(_inputs!).Count + b.Run(_inputs!).Count;
    }

    /// <summary>Verify every mapped tensor (default 2 GiB budget, no pass attribution).</summary>
    [Benchmark]
    public int VerifyAllMapped()
    {
        ParityReport r = ParityChecker.Compare(_original!, _conversion!.Model, _conversion.TensorMap, ParityInputs.FromTensors(_inputs!));
        return r.Tensors.Count;
    }
}

/// <summary>The parity metrics kernel on 16 M floats per side (128 MB compared per call).</summary>
public class MetricsKernelBenchmarks
{
    private float[] _reference = [];
    private float[] _actual = [];

    /// <summary>Elements per tensor.</summary>
    [Params(16 * 1024 * 1024)]
    public int Elements { get; set; }

    /// <summary>Seeded data with small differences.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(5);
        _reference = new float[Elements];
        _actual = new float[Elements];
        for (int i = 0; i < Elements; i++)
        {
            _reference[i] = (float)(rng.NextDouble() * 2 - 1);
            _actual[i] = _reference[i] + (float)(rng.NextDouble() - 0.5) * 1e-5f;
        }
    }

    /// <summary>All metrics (max/mean abs, RMSE, max rel, p99, cosine, SNR, NaN/Inf, worst index) in one call.</summary>
    [Benchmark]
    public double Compute() => ParityMetrics.Compute(_reference, _actual).MaxAbsError;
}
