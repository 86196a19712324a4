namespace ModelBridge.Tests.Onnx;

/// <summary>The public ONNX conformance corpus loads and saves back unchanged.</summary>
[TestFixture]
public sealed class CorpusRoundTripTests
{
    [Test]
    public void Every_corpus_model_saves_back_byte_identical()
    {
        string[] models = TestPaths.CorpusModels();
        Assert.That(models, Has.Length.GreaterThanOrEqualTo(1000), "libonnx-testdata should hold ~1072 models");
        var failures = new List<string>();
        foreach (string path in models)
        {
            byte[] original = File.ReadAllBytes(path);
            using Model model = Model.Load(path);
            byte[] saved = model.ToBytes();
            if (!original.AsSpan().SequenceEqual(saved))
            {
                int at = original.AsSpan().CommonPrefixLength(saved);
                failures.Add($"{path}: {original.Length} vs {saved.Length} bytes, first difference at {at}");
            }
        }
        TestContext.Out.WriteLine($"round-tripped {models.Length} models, {failures.Count} differ");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
    }

    [Test]
    public void Every_corpus_model_validates()
    {
        string[] models = TestPaths.CorpusModels();
        var failures = new List<string>();
        foreach (string path in models)
        {
            using Model model = Model.Load(path);
            IReadOnlyList<GraphProblem> problems = model.Graph.FindProblems();
            if (problems.Count > 0)
            {
                failures.Add($"{path}: {problems[0].Message}");
            }
        }
        TestContext.Out.WriteLine($"validated {models.Length} models, {failures.Count} with problems");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
    }

    [Test]
    public void Cloned_corpus_models_serialise_like_the_original()
    {
        string[] models = TestPaths.CorpusModels();
        var failures = new List<string>();
        foreach (string path in models.Where((_, i) => i % 7 == 0))
        {
            using Model model = Model.Load(path);
            using Model clone = model.Clone();
            if (!model.ToBytes().AsSpan().SequenceEqual(clone.ToBytes()))
            {
                failures.Add(path);
            }
        }
        Assert.That(failures, Is.Empty);
    }
}
