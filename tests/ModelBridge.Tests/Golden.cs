namespace ModelBridge.Tests;

/// <summary>GraphPrinter goldens under tests/goldens. Missing goldens are written only when UPDATE_GOLDENS=1.</summary>
internal static class Golden
{
    public static void AssertMatches(string name, string actual)
    {
        string path = Path.Combine(TestPaths.RepoRoot, "tests", "goldens", name + ".txt");
        if (!File.Exists(path))
        {
            if (Environment.GetEnvironmentVariable("UPDATE_GOLDENS") == "1" && !TestPaths.UnderCi)
            {
                File.WriteAllText(path, actual);
                Assert.Inconclusive($"wrote new golden {path}; review and commit it");
            }
            Assert.Fail($"golden {path} is missing (run once with UPDATE_GOLDENS=1 outside CI and review it)");
        }
        Assert.That(actual, Is.EqualTo(File.ReadAllText(path)), $"output differs from golden {name}");
    }
}
