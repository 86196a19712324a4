using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using ModelBridge.Profiles;

namespace ModelBridge.Verify.Tests;

/// <summary>
/// Every corpus model that ONNX Runtime runs still reproduces the corpus's expected outputs after
/// <c>convert</c> for each built-in target.
/// </summary>
[TestFixture]
public sealed class CorpusConversionTests
{
    private const double RelativeTolerance = 1e-4;

    [Test]
    public void Converted_corpus_models_reproduce_their_reference_outputs()
    {
        string[] models = TestPaths.CorpusModels();
        TargetProfile[] targets = [.. TargetProfile.BuiltInNames.Select(TargetProfile.BuiltIn)];
        var options = new OrtRunnerOptions { IntraOpThreads = 1, LogLevel = OrtLogLevel.Fatal };
        var stopwatch = Stopwatch.StartNew();
        int applicable = 0, conversions = 0, changed = 0, distinctRuns = 0;
        var failures = new List<string>();
        foreach (string path in models)
        {
            string id = Path.GetRelativePath(TestPaths.OnnxTestData, Path.GetDirectoryName(path)!);
            if (CorpusExecutionTests.AllowList.Any(a => CorpusExecutionTests.Covers(a.Pattern, id)))
            {
                continue;
            }
            using Model model = Model.Load(path);
            if (model.Graph.Inputs.Any(v => v.Initializer is null && (v.DeclaredType is null || v.DeclaredType.ElementType == DataType.String)))
            {
                continue;
            }
            string? folder = TestDataSet.FindFolders(Path.GetDirectoryName(path)!).FirstOrDefault();
            if (folder is null)
            {
                continue;
            }
            TestDataSet data;
            try
            {
                data = CorpusExecutionTests.RetypeLegacyBFloat16(TestDataSet.Read(folder, model), model);
            }
            catch (NotSupportedException)
            {
                continue;
            }
            if (!Runs(model, data, options, out _))
            {
                continue; // not applicable: ORT cannot run the original
            }
            applicable++;
            string originalHash = Hash(model.ToBytes());
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (TargetProfile target in targets)
            {
                conversions++;
                ConversionResult result;
                try
                {
                    result = ModelConverter.Convert(model, target);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    failures.Add($"{id} → {target.Name}: convert threw {e.GetType().Name}: {e.Message}");
                    continue;
                }
                using Model converted = result.Model;
                byte[] bytes = converted.ToBytes();
                string hash = Hash(bytes);
                if (hash != originalHash)
                {
                    changed++;
                }
                if (!seen.Add(hash))
                {
                    continue; // same graph as for another target: already checked
                }
                distinctRuns++;
                if (!Runs(converted, data, options, out string detail))
                {
                    failures.Add($"{id} → {target.Name}: {detail}");
                }
            }
        }
        TestContext.Out.WriteLine($"applicable models: {applicable}; conversions: {conversions} ({changed} changed the graph); distinct converted graphs run: {distinctRuns}; {stopwatch.Elapsed.TotalSeconds:F1} s");
        foreach (string f in failures.Take(50))
        {
            TestContext.Out.WriteLine("  FAIL " + f);
        }
        Assert.That(applicable, Is.GreaterThan(800));
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
    }

    private static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));

    private static bool Runs(Model model, TestDataSet data, OrtRunnerOptions options, out string detail)
    {
        try
        {
            using var runner = new OrtRunner(model, options);
            var inputs = data.InputsByName().Where(kv => runner.InputNames.Contains(kv.Key)).ToDictionary();
            var actual = runner.Run(inputs);
            foreach (NamedTensor expected in data.Outputs)
            {
                if (!actual.TryGetValue(expected.Name, out TensorData? got))
                {
                    detail = $"output '{expected.Name}' missing";
                    return false;
                }
                if (!ParityMetrics.TryCompare(expected.Data, got, out ParityMetrics? c, out string? why) || !c!.IsWithin(RelativeTolerance))
                {
                    detail = $"output '{expected.Name}': {(why is not null ? why : $"relative-to-max error {c!.RelativeToMax:G3}, {c.Mismatches} mismatches")}";
                    return false;
                }
            }
            detail = string.Empty;
            return true;
        }
        catch (Exception e) when (e is OnnxRuntimeException or NotSupportedException)
        {
            detail = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
            return false;
        }
    }
}
