using System.Diagnostics;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Benchmarks.Floor;

/// <summary>
/// Where the memory of <c>convert</c> goes: runs its stages one by one (the same calls as
/// <see cref="ModelConverter.Convert"/> and the CLI) and prints, after each, the process's RSS, the
/// peak RSS reached during the stage (Linux VmHWM, reset through <c>/proc/self/clear_refs</c>), the
/// managed bytes allocated by the stage and the GC heap size.
/// </summary>
/// <remarks><c>probe-convert MODEL TARGET OUT</c>; Linux only (reads /proc/self/status).</remarks>
public static class Probe
{
    /// <summary>Command-line form.</summary>
    public static int Command(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: probe-convert MODEL TARGET OUT.onnx");
            return 64;
        }
        var p = new Stages();
        using Model original = p.Step("load (memory-mapped)", () => Model.Load(args[0]));
        p.Step("validate", () => { original.Graph.Validate(); return 0; });
        using Model clone = p.Step("clone", original.Clone);
        p.Step("shape inference", () => ShapeInference.Run(clone.Graph).InferredCount);
        ProvenanceMap map = ProvenanceMap.Identity(clone.Graph);
        TargetProfile profile = TargetProfile.BuiltIn(args[1]);
        foreach (ModelBridge.Rewriting.Pipeline phase in ModelBridge.Rewriting.Pipeline.ForProfile(profile))
        {
            foreach (Pass pass in phase.Passes)
            {
                p.Step($"  pass {pass.Id}", () => new ModelBridge.Rewriting.Pipeline([pass]).Run(clone, new PipelineOptions { ValidateAfterEachPass = false }, map).Statistics.Sum(s => s.Matches));
            }
            p.Step("  shape inference", () => ShapeInference.Run(clone.Graph).InferredCount);
        }
        p.Step("profile check", () => ProfileChecker.Check(clone.Graph, profile).Unsupported.Count);
        byte[] bytes = p.Step("ToBytes (CLI's WriteOutputs)", () => clone.ToBytes());
        p.Step("write byte[] to file", () => { File.WriteAllBytes(args[2], bytes); return 0; });
        bytes = [];
        GC.Collect();
        p.Step("Save(path) streamed", () => { clone.Save(args[2]); return 0; });
        return 0;
    }

    /// <summary>
    /// <c>probe-hash MODEL</c>: the cost of DeduplicateInitializers' content hash (HashCode.AddBytes over
    /// every initializer) against a vectorised compare, with the file's pages already resident.
    /// </summary>
    public static int Hash(string[] args)
    {
        using Model m = Model.Load(args[0]);
        var tensors = m.Graph.Initializers.Select(v => v.Initializer!).ToList();
        long total = tensors.Sum(t => (long)t.Data.Length);
        long t0 = Stopwatch.GetTimestamp();
        long touched = 0;
        foreach (Tensor t in tensors)
        {
            ReadOnlySpan<byte> s = t.Data.Span;
            for (int i = 0; i < s.Length; i += 4096)
            {
                touched += s[i];
            }
        }
        Console.WriteLine($"{tensors.Count} initializers, {total / 1048576.0:F1} MiB; first touch (page faults) {Stopwatch.GetElapsedTime(t0).TotalMilliseconds:F0} ms ({touched & 1})");
        t0 = Stopwatch.GetTimestamp();
        int h = 0;
        foreach (Tensor t in tensors)
        {
            var hash = new HashCode();
            hash.AddBytes(t.Data.Span);
            h ^= hash.ToHashCode();
        }
        double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        Console.WriteLine($"HashCode.AddBytes over all: {ms:F0} ms = {total / 1048576.0 / (ms / 1000):F0} MiB/s ({h & 1})");
        t0 = Stopwatch.GetTimestamp();
        int equal = 0;
        foreach (Tensor t in tensors)
        {
            equal += t.Data.Span.SequenceEqual(t.Data.Span) ? 1 : 0;
        }
        ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        Console.WriteLine($"SequenceEqual (full length, worst case) over all: {ms:F0} ms = {total / 1048576.0 / (ms / 1000):F0} MiB/s ({equal})");
        return 0;
    }

    /// <summary>
    /// <c>probe-verify ORIGINAL CONVERTED INPUTS [BUDGET_MB...]</c>: in-process verify, three times per
    /// budget, with the report's own timings (total, comparing, metrics) and peaks.
    /// </summary>
    public static int Verify(string[] args)
    {
        string map = RealSize.MapOf(args[1]);
        long[] budgets = args.Length > 3 ? [.. args[3..].Select(a => long.Parse(a, System.Globalization.CultureInfo.InvariantCulture) << 20)] : [2048L << 20, 512L << 20];
        for (int round = 0; round < 3; round++)
        {
            foreach (long budget in budgets)
            {
                long t0 = Stopwatch.GetTimestamp();
                using Model original = Model.Load(args[0]);
                using Model converted = Model.Load(args[1]);
                var r = ModelBridge.Verify.ParityChecker.Compare(original, converted, ProvenanceMap.FromJson(File.ReadAllText(map)),
                    ModelBridge.Verify.ParityInputs.FromTestData(args[2]), new ModelBridge.Verify.ParityOptions { MaxMemoryBytes = budget });
                var i = r.Info;
                Console.WriteLine($"budget {budget >> 20} MiB: {Stopwatch.GetElapsedTime(t0).TotalMilliseconds:F0} ms (compare {i.CompareElapsed.TotalMilliseconds:F0}, metrics {i.MetricsElapsed.TotalMilliseconds:F0}), {i.Chunks} chunks, {i.OrtRuns} runs, exposed {i.ExposedPeakBytes >> 20} MiB, peak WS {i.PeakWorkingSetBytes >> 20} MiB, passed {r.Passed}");
            }
        }
        return 0;
    }

    /// <summary>
    /// <c>probe-metrics MODEL INPUTS [OTHER_MODEL]</c>: runs the model (and the other one, a conversion
    /// with the same value names) with every node output exposed, then times the metrics kernel over
    /// the float tensors, single-threaded: against themselves, and against the other model's values,
    /// without and with elementwise bounds (rtol 1e-4, atol 1e-5).
    /// </summary>
    public static int Metrics(string[] args)
    {
        var a = RunAll(args[0], args[1]);
        var b = args.Length > 2 ? RunAll(args[2], args[1]) : a;
        var pairs = a.Where(kv => kv.Value.ElementType == DataType.Float && b.TryGetValue(kv.Key, out var o) && o.Bytes.Length == kv.Value.Bytes.Length)
            .Select(kv => (A: kv.Value, B: b[kv.Key])).ToList();
        long bytes = pairs.Sum(p => (long)p.A.Bytes.Length);
        void Time(string what, Func<ReadOnlySpan<float>, ReadOnlySpan<float>, double> f, bool self)
        {
            for (int round = 0; round < 2; round++)
            {
                long t0 = Stopwatch.GetTimestamp();
                double sink = 0;
                foreach (var (x, y) in pairs)
                {
                    sink += f(x.AsFloatSpan(), self ? x.AsFloatSpan() : y.AsFloatSpan());
                }
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                Console.WriteLine($"{what,-40} {pairs.Count} tensors, {bytes >> 20} MiB per side: {ms,6:F0} ms = {2.0 * bytes / 1048576 / (ms / 1000),5:F0} MiB/s");
            }
        }
        Time("identical, no bounds", (x, y) => ModelBridge.Verify.ParityMetrics.Compute(x, y).MaxAbsError, true);
        Time("other model, no bounds", (x, y) => ModelBridge.Verify.ParityMetrics.Compute(x, y).MaxAbsError, false);
        Time("other model, elementwise bounds", (x, y) => ModelBridge.Verify.ParityMetrics.Compute(x, y, 1e-4, 1e-5).MaxAbsError, false);
        return 0;
    }

    private static IReadOnlyDictionary<string, ModelBridge.Verify.TensorData> RunAll(string path, string inputs)
    {
        using Model m = Model.Load(path);
        string[] names = [.. m.Graph.TopologicalOrder().SelectMany(n => n.Outputs).Where(v => v is not null).Select(v => v!.Name)];
        using var runner = new ModelBridge.Verify.OrtRunner(m, new ModelBridge.Verify.OrtRunnerOptions { ExtraOutputs = names, CpuMemoryArena = false, Optimization = ModelBridge.Verify.GraphOptimization.Disabled });
        return runner.Run(ModelBridge.Verify.TestDataSet.Read(inputs, m).InputsByName());
    }

    private sealed class Stages
    {
        private long _allocated = GC.GetTotalAllocatedBytes(precise: true);

        public Stages()
        {
            Console.WriteLine($"{"stage",-44} {"RSS MiB",8} {"peak MiB",9} {"alloc MiB",10} {"heap MiB",9} {"ms",7}");
            Report("start", 0);
        }

        public T Step<T>(string name, Func<T> body)
        {
            ResetPeak();
            long t0 = Stopwatch.GetTimestamp();
            T result = body();
            Report(name, Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            return result;
        }

        private void Report(string name, double ms)
        {
            long allocated = GC.GetTotalAllocatedBytes(precise: true);
            (long rss, long hwm) = Status();
            Console.WriteLine($"{name,-44} {rss / 1024.0,8:F0} {hwm / 1024.0,9:F0} {(allocated - _allocated) / 1048576.0,10:F1} {GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0,9:F0} {ms,7:F0}");
            _allocated = allocated;
        }

        private static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");

        private static (long RssKb, long HwmKb) Status()
        {
            long rss = 0, hwm = 0;
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            return (rss, hwm);
        }
    }
}
