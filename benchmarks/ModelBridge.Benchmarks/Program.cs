using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace ModelBridge.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release -- --filter '*'</c> runs the BenchmarkDotNet suites;
/// <c>floor-infer A.onnx B.onnx INPUTS</c> is the whole-process floor of verify (benchmarks/measure.sh);
/// <c>probe-convert MODEL TARGET OUT</c> prints convert's memory stage by stage.
/// </summary>
public static class Program
{
    /// <summary>
    /// Runs the benchmarks selected on the command line with one job for all of them: in-process
    /// (no per-benchmark project build, which times out on a loaded 2-core machine), 2 warm-up and
    /// 6 measured iterations. Figures in one run are comparable; ratios are what RESULTS.md reports.
    /// </summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "floor-infer")
        {
            return Floor.PlainInference.Command(args[1..]);
        }
        if (args.Length > 0 && args[0] == "probe-convert")
        {
            return Floor.Probe.Command(args[1..]);
        }
        if (args.Length > 3 && args[0] == "probe-verify")
        {
            return Floor.Probe.Verify(args[1..]);
        }
        if (args.Length > 2 && args[0] == "probe-metrics")
        {
            return Floor.Probe.Metrics(args[1..]);
        }
        if (args.Length > 1 && args[0] == "probe-hash")
        {
            return Floor.Probe.Hash(args[1..]);
        }
        IConfig config = DefaultConfig.Instance
            .AddJob(Job.Default
                .WithToolchain(InProcessEmitToolchain.Instance)
                .WithLaunchCount(1)
                .WithWarmupCount(2)
                .WithIterationCount(6)
                .AsDefault());
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return 0;
    }
}
