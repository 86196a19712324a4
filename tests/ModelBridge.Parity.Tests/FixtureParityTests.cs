using System.Diagnostics;
using ModelBridge.Profiles;
using ModelBridge.Verify;
using ModelBridge.Verify.Reports;

namespace ModelBridge.Parity.Tests;

/// <summary>
/// Every fixture, converted for every built-in target, matches the original layer by layer (at the
/// target's tolerance widened by the passes' contracts) and PyTorch's reference outputs (1e-4 relative to
/// max). Nodes a target cannot take are left in place, so parity still holds numerically.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Children)]
public sealed class FixtureParityTests
{
    public static IEnumerable<TestCaseData> Cases() =>
        from fixture in Fixtures.Names
        from target in TargetProfile.BuiltInNames
        select new TestCaseData(fixture, target).SetName($"{fixture} on {target}");

    [TestCaseSource(nameof(Cases))]
    public void Converted_fixture_matches_original_and_pytorch(string fixture, string target)
    {
        using Model original = Model.Load(Fixtures.Model(fixture));
        TargetProfile profile = TargetProfile.BuiltIn(target);
        ConversionResult conversion = ModelConverter.Convert(original, profile);
        using Model converted = conversion.Model;
        var inputs = ParityInputs.FromTestData(Fixtures.TestData(fixture));
        var options = new ParityOptions { Target = profile, Localize = true };

        long t0 = Stopwatch.GetTimestamp();
        ParityReport report = ParityChecker.VerifyConversion(original, conversion, options, inputs);
        TestContext.Out.WriteLine($"{report} in {Stopwatch.GetElapsedTime(t0).TotalMilliseconds:F0} ms; {conversion.Remaining.Unsupported.Count} node(s) left unsupported on {target}");
        try
        {
            ParityAssert.That(report).Passes();
            AssertMatchesPyTorch(fixture, converted);
        }
        catch (Exception)
        {
            Attach(report, fixture, target);
            throw;
        }
    }

    /// <summary>The converted model's outputs against PyTorch's, 1e-4 relative to max magnitude.</summary>
    private static void AssertMatchesPyTorch(string fixture, Model converted)
    {
        TestDataSet data = TestDataSet.Read(Fixtures.TestData(fixture), converted);
        using var runner = new OrtRunner(converted, new OrtRunnerOptions { Optimization = GraphOptimization.Disabled });
        IReadOnlyDictionary<string, TensorData> outputs = runner.Run(data.InputsByName());
        TensorComparer comparer = TensorComparer.RelativeToMax(1e-4);
        foreach (NamedTensor expected in data.Outputs)
        {
            TensorData actual = outputs[expected.Name];
            Assert.That(actual.Dims, Is.EqualTo(expected.Data.Dims), $"shape of '{expected.Name}'");
            ParityMetrics m = comparer.Measure(expected.Data.ToDoubleArray().Select(v => (float)v).ToArray(), actual.ToDoubleArray().Select(v => (float)v).ToArray());
            Assert.That(comparer.Accepts(m), Is.True, $"'{expected.Name}' against PyTorch: relative-to-max {m.RelativeToMax:G3} > 1e-4");
        }
    }

    private static void Attach(ParityReport report, string fixture, string target)
    {
        string dir = Path.Combine(TestContext.CurrentContext.WorkDirectory, "parity-reports", $"{fixture}.{target}");
        foreach (string path in ParityReportWriter.WriteAll(report, dir))
        {
            TestContext.AddTestAttachment(path, $"parity report ({Path.GetFileName(path)})");
        }
    }
}
