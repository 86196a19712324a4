namespace ModelBridge.Fuzz;

/// <summary>The seed models and the deterministic mapping from a case number to a mutated model.</summary>
internal static class Corpus
{
    /// <summary>Debian libonnx-testdata's conformance models.</summary>
    public const string OnnxTestData = "/usr/share/libonnx-testdata/data";

    /// <summary>
    /// Every fixture model, plus <paramref name="corpusSample"/> conformance models drawn with
    /// <paramref name="seed"/> (none when the corpus is not installed).
    /// </summary>
    public static List<(string Name, byte[] Bytes)> Load(string repoRoot, int corpusSample, int seed, long maxFixtureBytes = long.MaxValue)
    {
        var sources = new List<(string, byte[])>();
        foreach (string dir in Directory.GetDirectories(Path.Combine(repoRoot, "fixtures")).Order(StringComparer.Ordinal))
        {
            string path = Path.Combine(dir, "model.onnx");
            if (File.Exists(path) && new FileInfo(path).Length <= maxFixtureBytes)
            {
                sources.Add(("fixtures/" + Path.GetFileName(dir), File.ReadAllBytes(path)));
            }
        }
        if (corpusSample > 0 && Directory.Exists(OnnxTestData))
        {
            string[] all = Directory.GetFiles(OnnxTestData, "model.onnx", SearchOption.AllDirectories);
            Array.Sort(all, StringComparer.Ordinal);
            var rng = new Random(seed);
            foreach (string path in all.OrderBy(_ => rng.Next()).Take(corpusSample).Order(StringComparer.Ordinal))
            {
                sources.Add((Path.GetRelativePath(OnnxTestData, Path.GetDirectoryName(path)!), File.ReadAllBytes(path)));
            }
        }
        return sources;
    }

    /// <summary>Case <paramref name="index"/> of the run (fixtures come first in <paramref name="sources"/>) with <paramref name="seed"/>: its source, bytes and mutations.</summary>
    public static (string Source, byte[] Bytes, string Mutations) Case(List<(string Name, byte[] Bytes)> sources, int seed, int index)
    {
        var rng = new Random(unchecked((seed * 1_000_003) ^ (index * 7919) ^ index));
        // Half the cases start from a fixture: they are few, but they are where the passes fire.
        int fixtures = sources.Count(s => s.Name.StartsWith("fixtures/", StringComparison.Ordinal));
        int pick = rng.Next(2) == 0 && fixtures > 0 ? rng.Next(fixtures) : rng.Next(sources.Count);
        var (name, bytes) = sources[pick];
        var (mutated, what) = ModelMutator.Mutate(bytes, rng);
        return (name, mutated, what);
    }
}
