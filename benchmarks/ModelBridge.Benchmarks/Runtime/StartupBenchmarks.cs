using BenchmarkDotNet.Attributes;

namespace ModelBridge.Benchmarks.Runtime;

/// <summary>
/// Startup of the published <c>modelbridge</c> tool (ReadyToRun) as a whole process: <c>--help</c> and
/// a tiny convert, against a .NET process that only prints a usage line (this benchmark program).
/// </summary>
[WarmupCount(1)]
[IterationCount(10)]
public class StartupBenchmarks
{
    private string _cli = string.Empty;
    private string _tiny = string.Empty;
    private string _out = string.Empty;
    private string _self = string.Empty;

    /// <summary>Publishes (or reuses) the tool.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _cli = RealSize.Cli;
        _tiny = Path.Combine(Fixtures.Root, "groupnorm_noaffine", "model.onnx");
        _out = Path.Combine(RealSize.Data, "work", "bdn-tiny.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(_out)!);
        _self = Path.Combine(AppContext.BaseDirectory, "ModelBridge.Benchmarks");
    }

    /// <summary>The floor: a .NET app start that prints usage and exits.</summary>
    [Benchmark(Baseline = true)]
    public void DotnetUsageProcess() => RealSize.Run(_self, ["floor-infer"], allowFailure: true);

    /// <summary><c>modelbridge --help</c>.</summary>
    [Benchmark]
    public void CliHelp() => RealSize.Run(_cli, ["--help"]);

    /// <summary><c>modelbridge convert</c> of a 3-node fixture.</summary>
    [Benchmark]
    public void CliTinyConvert() => RealSize.Run(_cli, ["convert", _tiny, "--target", "ort-nnapi", "-o", _out, "--force"]);
}
