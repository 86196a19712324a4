using ModelBridge.Fuzz;
using ModelBridge.Profiles;

namespace ModelBridge.Tests.Robustness;

/// <summary>
/// A bounded, seeded slice of the fuzz harness (tools/ModelBridge.Fuzz, whose mutator and target are
/// linked into this project): every mutated model is loaded or refused with a ModelBridgeException,
/// never anything else, and no case hangs.
/// </summary>
[TestFixture]
public sealed class FuzzSliceTests
{
    private const int Cases = 300;

    [Test]
    public void Mutated_models_raise_only_ModelBridge_exceptions()
    {
        if (!Directory.Exists(Corpus.OnnxTestData) && TestPaths.UnderCi)
        {
            Assert.Fail($"{Corpus.OnnxTestData} is missing; .ci/run must install libonnx-testdata.");
        }
        List<(string Name, byte[] Bytes)> sources = Corpus.Load(TestPaths.RepoRoot, corpusSample: 60, seed: 1, maxFixtureBytes: 1 << 20);
        TargetProfile profile = TargetProfile.BuiltIn("ort-nnapi");
        var bugs = new List<string>();
        var outcomes = new Dictionary<string, int>();
        for (int i = 0; i < Cases; i++)
        {
            var (name, bytes, what) = Corpus.Case(sources, seed: 1, i);
            FuzzOutcome o = FuzzTarget.Run(bytes, profile, TimeSpan.FromSeconds(10));
            outcomes[o.Key] = outcomes.GetValueOrDefault(o.Key) + 1;
            if (o.Kind is OutcomeKind.Bug or OutcomeKind.Timeout)
            {
                bugs.Add($"case {i} ({name}: {what}): {o.Kind} {o.Key} at {o.Stage}\n{o.Error}");
            }
        }
        TestContext.Out.WriteLine(string.Join(", ", outcomes.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.That(bugs, Is.Empty);
        Assert.That(outcomes.GetValueOrDefault("ok"), Is.GreaterThan(Cases / 10), "some mutated models still convert, so later stages are exercised");
    }

    [Test]
    public void Mutations_are_reproducible_from_the_seed()
    {
        List<(string Name, byte[] Bytes)> sources = Corpus.Load(TestPaths.RepoRoot, corpusSample: 0, seed: 1, maxFixtureBytes: 1 << 16);
        for (int i = 0; i < 20; i++)
        {
            var a = Corpus.Case(sources, seed: 7, i);
            var b = Corpus.Case(sources, seed: 7, i);
            Assert.That(b.Bytes, Is.EqualTo(a.Bytes));
            Assert.That(b.Mutations, Is.EqualTo(a.Mutations));
        }
    }

    [TestCaseSource(typeof(ModelMutator), nameof(ModelMutator.Kinds))]
    public void Every_mutation_kind_leaves_only_ModelBridge_exceptions(string kind)
    {
        byte[] source = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "batchnorm_unfused", "model.onnx"));
        var rng = new Random(kind.Length);
        for (int i = 0; i < 5; i++)
        {
            var (bytes, what) = ModelMutator.Apply(kind, source, rng);
            Assert.DoesNotThrow(() => Stages.RunAll(bytes), what);
        }
    }
}
