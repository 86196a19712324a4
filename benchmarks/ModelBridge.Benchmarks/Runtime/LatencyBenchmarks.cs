using BenchmarkDotNet.Attributes;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Verify;

namespace ModelBridge.Benchmarks.Runtime;

/// <summary>ORT CPU latency of each detector fixture, original vs converted for each built-in target.</summary>
public class LatencyBenchmarks
{
    private OrtRunner? _runner;
    private IReadOnlyDictionary<string, TensorData>? _inputs;

    /// <summary>Detector fixture.</summary>
    [Params("retinanet_mbv2_gn_op13", "retinanet_resnet_bn_op13", "fcos_gn_op13")]
    public string Fixture { get; set; } = string.Empty;

    /// <summary>"original" or a built-in target.</summary>
    [Params("original", "ort-nnapi", "tflite-builtins", "ort-coreml-mlprogram", "ncnn", "xnnpack")]
    public string Variant { get; set; } = string.Empty;

    /// <summary>Converts (unless original) and creates one session, 1 intra-op thread.</summary>
    [GlobalSetup]
    public void Setup()
    {
        string dir = Path.Combine(Fixtures.Root, Fixture);
        using Model original = Model.Load(Path.Combine(dir, "model.onnx"));
        _inputs = TestDataSet.Read(Path.Combine(dir, "test_data_set_0"), original).InputsByName();
        var options = new OrtRunnerOptions { IntraOpThreads = 1 };
        if (Variant == "original")
        {
            _runner = new OrtRunner(original, options);
            return;
        }
        ConversionResult r = ModelConverter.Convert(original, TargetProfile.BuiltIn(Variant),
            new ConvertOptions { Dims = new Dictionary<string, long> { ["N"] = 1 } });
        using Model converted = r.Model;
        _runner = new OrtRunner(converted, options);
    }

    /// <summary>Disposes the session.</summary>
    [GlobalCleanup]
    public void Cleanup() => _runner?.Dispose();

    /// <summary>One inference.</summary>
    [Benchmark]
    public int Infer() => _runner!.Run(_inputs!).Count;
}

/// <summary>Locates the repository's fixtures folder.</summary>
public static class Fixtures
{
    /// <summary>The fixtures folder (searched upward from the current directory and the binaries).</summary>
    public static string Root
    {
        get
        {
            foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            {
                for (string? d = start; d is not null; d = Path.GetDirectoryName(d))
                {
                    if (File.Exists(Path.Combine(d, "ModelBridge.sln")))
                    {
                        return Path.Combine(d, "fixtures");
                    }
                }
            }
            throw new DirectoryNotFoundException("fixtures/ not found; run from the repository.");
        }
    }
}
