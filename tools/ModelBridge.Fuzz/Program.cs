using System.Diagnostics;
using System.Globalization;
using ModelBridge.Fuzz;
using ModelBridge.Profiles;

// ModelBridge fuzz harness: mutates every fixture and a seeded sample of the ONNX conformance corpus,
// and runs each mutated model through load → validate → summary → shape inference → profile check →
// convert → save/reload. Any exception other than a ModelBridgeException, and any case that outlives
// its time limit, is a bug. Usage:
//   dotnet run -c Release --project tools/ModelBridge.Fuzz -- --cases 10000 --seed 1
// Options: --timeout SECONDS (10), --corpus-sample N (200), --target NAME (ort-nnapi), --jobs N (1),
//          --case K (rerun one case and print its exception), --dump DIR (write bug/timeout inputs).

var opts = Options.Parse(args);
string root = FindRepoRoot();
List<(string Name, byte[] Bytes)> sources = Corpus.Load(root, opts.CorpusSample, opts.Seed);
TargetProfile profile = TargetProfile.Resolve(opts.Target);
Console.WriteLine($"{sources.Count} source models ({Directory.GetDirectories(Path.Combine(root, "fixtures")).Length} fixture folders), target {profile.Name}, seed {opts.Seed}, timeout {opts.Timeout.TotalSeconds}s");

if (opts.SingleCase is int single)
{
    var (name, bytes, what) = Corpus.Case(sources, opts.Seed, single);
    Console.WriteLine($"case {single}: {name}: {what}");
    FuzzOutcome o = FuzzTarget.Run(bytes, profile, opts.Timeout);
    Console.WriteLine($"{o.Kind} {o.Key} at {o.Stage}, allocated {o.AllocatedBytes / 1048576.0:F1} MiB");
    Console.WriteLine(o.Error?.ToString());
    DumpIfAsked(opts, single, bytes);
    return o.Kind is OutcomeKind.Ok or OutcomeKind.Refused ? 0 : 1;
}

var results = new FuzzOutcome[opts.Cases];
var descriptions = new string[opts.Cases];
var inputSizes = new int[opts.Cases];
var clock = Stopwatch.StartNew();
int done = 0;
Parallel.For(0, opts.Cases, new ParallelOptions { MaxDegreeOfParallelism = opts.Jobs }, i =>
{
    var (name, bytes, what) = Corpus.Case(sources, opts.Seed, i);
    descriptions[i] = $"{name}: {what}";
    inputSizes[i] = bytes.Length;
    results[i] = FuzzTarget.Run(bytes, profile, opts.Timeout);
    if (results[i].Kind is OutcomeKind.Bug or OutcomeKind.Timeout)
    {
        DumpIfAsked(opts, i, bytes);
    }
    int n = Interlocked.Increment(ref done);
    if (n % 1000 == 0)
    {
        Console.WriteLine($"  {n} cases, {clock.Elapsed.TotalSeconds:F0}s");
    }
});

Console.WriteLine();
Console.WriteLine($"{opts.Cases} cases in {clock.Elapsed.TotalSeconds:F0}s");
Console.WriteLine("outcomes:");
foreach (var group in results.GroupBy(r => (r.Kind, r.Key)).OrderBy(g => g.Key.Kind).ThenByDescending(g => g.Count()))
{
    Console.WriteLine($"  {group.Key.Kind,-8} {group.Key.Key,-32} {group.Count(),7}");
}
Console.WriteLine("refusals by stage:");
foreach (var group in results.Where(r => r.Kind == OutcomeKind.Refused).GroupBy(r => r.Stage).OrderByDescending(g => g.Count()))
{
    Console.WriteLine($"  {group.Key,-16} {group.Count(),7}");
}
var bugs = results.Select((r, i) => (r, i)).Where(x => x.r.Kind is OutcomeKind.Bug or OutcomeKind.Timeout).ToList();
if (bugs.Count > 0)
{
    Console.WriteLine("bugs (first case of each signature):");
    foreach (var sig in bugs.GroupBy(b => Signature(b.r)))
    {
        var (r, i) = sig.First();
        Console.WriteLine($"  [{sig.Count()}x] {sig.Key}");
        Console.WriteLine($"      case {i} ({descriptions[i]})");
        Console.WriteLine($"      {r.Error?.Message}");
    }
}
var heaviest = results.Select((r, i) => (r, i)).MaxBy(x => x.r.AllocatedBytes);
Console.WriteLine($"largest allocation: {heaviest.r.AllocatedBytes / 1048576.0:F1} MiB by case {heaviest.i} ({inputSizes[heaviest.i]} input bytes; {descriptions[heaviest.i]})");
Console.WriteLine($"peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB");
Console.WriteLine($"non-ModelBridge exceptions: {bugs.Count(b => b.r.Kind == OutcomeKind.Bug)}, timeouts: {bugs.Count(b => b.r.Kind == OutcomeKind.Timeout)}");
return bugs.Count == 0 ? 0 : 1;

static string Signature(FuzzOutcome r)
{
    if (r.Error is null)
    {
        return r.Key;
    }
    string? frame = r.Error.StackTrace?.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("ModelBridge.", StringComparison.Ordinal));
    return $"{r.Key} in {r.Stage} {frame}";
}

static void DumpIfAsked(Options opts, int index, byte[] bytes)
{
    if (opts.DumpDirectory is { } dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, $"case-{index.ToString(CultureInfo.InvariantCulture)}.onnx"), bytes);
    }
}

static string FindRepoRoot()
{
    foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
    {
        for (string? dir = start; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "ModelBridge.sln")))
            {
                return dir;
            }
        }
    }
    throw new DirectoryNotFoundException("Run from inside the ModelBridge repository (ModelBridge.sln not found).");
}

/// <summary>Command-line options.</summary>
internal sealed record Options(int Cases, int Seed, TimeSpan Timeout, int CorpusSample, string Target, int Jobs, int? SingleCase, string? DumpDirectory)
{
    public static Options Parse(string[] args)
    {
        var o = new Options(1000, 1, TimeSpan.FromSeconds(10), 200, "ort-nnapi", 1, null, null);
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--cases" => o with { Cases = Int() },
                "--seed" => o with { Seed = Int() },
                "--timeout" => o with { Timeout = TimeSpan.FromSeconds(Int()) },
                "--corpus-sample" => o with { CorpusSample = Int() },
                "--target" => o with { Target = Next() },
                "--jobs" => o with { Jobs = Int() },
                "--case" => o with { SingleCase = Int() },
                "--dump" => o with { DumpDirectory = Next() },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'."),
            };
        }
        return o;
    }
}
