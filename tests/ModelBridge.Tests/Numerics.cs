using ModelBridge.Rewriting;
using ModelBridge.Verify;

namespace ModelBridge.Tests;

/// <summary>Numeric checks of rewrites in ONNX Runtime against the original graph.</summary>
internal static class Numerics
{
    /// <summary>Seeded inputs for a model (symbolic dims as 1).</summary>
    public static IReadOnlyDictionary<string, TensorData> Inputs(Model model, int seed = 42) =>
        new InputGenerator(seed) { Distribution = InputDistribution.Normal(0, 1) }.Generate(model.Graph);

    /// <summary>Runs a model in ORT (no graph optimisation, so ORT does not rewrite it further).</summary>
    public static IReadOnlyDictionary<string, TensorData> Run(Model model, IReadOnlyDictionary<string, TensorData> inputs, IEnumerable<string>? extraOutputs = null)
    {
        using var runner = new OrtRunner(model, new OrtRunnerOptions { Optimization = GraphOptimization.Disabled, ExtraOutputs = extraOutputs?.ToList() ?? [] });
        return runner.Run(inputs);
    }

    /// <summary>
    /// Asserts that every graph output of <paramref name="rewritten"/> meets <paramref name="contract"/>
    /// against the same-named output of <paramref name="original"/>: bit-identical when exact, else
    /// |new − old| ≤ atol + rtol·|old| elementwise.
    /// </summary>
    public static void AssertMeetsContract(Model original, Model rewritten, NumericContract contract, int seed = 42)
    {
        var inputs = Inputs(original, seed);
        var expected = Run(original, inputs);
        var actual = Run(rewritten, inputs.Where(kv => rewritten.Graph.Inputs.Any(i => i.Name == kv.Key)).ToDictionary());
        Assert.That(actual.Keys, Is.EquivalentTo(expected.Keys), "the rewritten graph has the same outputs");
        foreach (var (name, reference) in expected)
        {
            AssertClose(name, reference, actual[name], contract);
        }
    }

    public static void AssertClose(string name, TensorData reference, TensorData actual, NumericContract contract)
    {
        Assert.That(actual.Dims, Is.EqualTo(reference.Dims), $"shape of '{name}'");
        if (contract.IsExact)
        {
            Assert.That(actual.Bytes.Span.SequenceEqual(reference.Bytes.Span), Is.True, $"'{name}' must be bit-identical");
            return;
        }
        double[] r = reference.ToDoubleArray(), a = actual.ToDoubleArray();
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < r.Length; i++)
        {
            double excess = Math.Abs(a[i] - r[i]) - (contract.AbsoluteTolerance + contract.RelativeTolerance * Math.Abs(r[i]));
            if (excess > worstExcess || double.IsNaN(a[i]) != double.IsNaN(r[i]))
            {
                worstExcess = double.IsNaN(excess) ? double.PositiveInfinity : excess;
                worst = i;
            }
        }
        Assert.That(worst, Is.EqualTo(-1), () => $"'{name}' breaks {contract} at element {worst}: expected {r[worst]}, got {a[worst]}");
    }

    /// <summary>Relative-to-max error of <paramref name="actual"/> against <paramref name="reference"/>.</summary>
    public static double RelativeToMax(TensorData reference, TensorData actual) => ParityMetrics.Compare(reference, actual).RelativeToMax;
}
