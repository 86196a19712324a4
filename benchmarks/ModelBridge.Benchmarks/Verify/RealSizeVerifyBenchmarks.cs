using BenchmarkDotNet.Attributes;
using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Verify;

namespace ModelBridge.Benchmarks.Verify;

/// <summary>
/// <c>verify ORIGINAL CONVERTED --map --inputs</c> at real size, in this process, against issue 17's
/// floor: the two models run once each in two fresh ORT sessions, no extra outputs (ORT graph
/// optimisation off, as verify runs them). The RetinaNet at the default budget and at 512 MB, and the
/// PaddleOCR detector (dynamic N, H, W) at 640x640.
/// </summary>
[MemoryDiagnoser]
[WarmupCount(1)]
[IterationCount(5)]
public class RealSizeVerifyBenchmarks
{
    private string _original = string.Empty;
    private string _converted = string.Empty;
    private string _inputs = string.Empty;

    /// <summary>Which pair: the 153 MB RetinaNet or the OCR detector at 640x640.</summary>
    [Params("retinanet-r50-gn", "ppocr-det-640")]
    public string Model { get; set; } = string.Empty;

    /// <summary>Generates (or reuses) the models, conversions and inputs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        (_original, _converted, _inputs) = Model == "ppocr-det-640"
            ? (RealSize.OcrDetector, RealSize.ConvertedOcrDetector, RealSize.OcrInputs)
            : (RealSize.RetinaNet, RealSize.ConvertedRetinaNet, RealSize.RetinaNetInputs);
    }

    /// <summary>The floor: each model once in a fresh session from its file, no extra outputs.</summary>
    [Benchmark(Baseline = true)]
    public long TwoPlainInferences() => Floor.PlainInference.Run(_original, _converted, _inputs);

    /// <summary>Verify every mapped tensor, default 2 GiB budget.</summary>
    [Benchmark]
    public int VerifyDefaultBudget() => Verify(ParityOptions.Default.MaxMemoryBytes);

    /// <summary>Verify every mapped tensor with a 512 MiB budget.</summary>
    [Benchmark]
    public int Verify512MB() => Verify(512L << 20);

    private int Verify(long budget)
    {
        using Model original = Ir.Model.Load(_original);
        using Model converted = Ir.Model.Load(_converted);
        ProvenanceMap map = ProvenanceMap.FromJson(File.ReadAllText(RealSize.MapOf(_converted)));
        ParityReport r = ParityChecker.Compare(original, converted, map, ParityInputs.FromTestData(_inputs),
            new ParityOptions { MaxMemoryBytes = budget });
        return r.Tensors.Count;
    }
}
