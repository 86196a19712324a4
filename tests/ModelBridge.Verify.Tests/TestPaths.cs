namespace ModelBridge.Verify.Tests;

/// <summary>Where the test data lives.</summary>
internal static class TestPaths
{
    /// <summary>Debian libonnx-testdata's backend test models.</summary>
    public const string OnnxTestData = "/usr/share/libonnx-testdata/data";

    /// <summary>True when running under CI (.ci/run sets CI=true), where missing data is a failure.</summary>
    public static bool UnderCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The repository root (the folder holding ModelBridge.sln).</summary>
    public static string RepoRoot
    {
        get
        {
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "ModelBridge.sln")))
            {
                dir = Path.GetDirectoryName(dir);
            }
            return dir ?? throw new DirectoryNotFoundException("ModelBridge.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The committed fixtures folder.</summary>
    public static string Fixtures => Path.Combine(RepoRoot, "fixtures");

    /// <summary>All corpus model files, or an inconclusive/failed test when the corpus is missing.</summary>
    public static string[] CorpusModels()
    {
        if (!Directory.Exists(OnnxTestData))
        {
            if (UnderCi)
            {
                Assert.Fail($"{OnnxTestData} is missing; .ci/run must install libonnx-testdata.");
            }
            Assert.Ignore($"{OnnxTestData} is missing (apt-get install -y libonnx-testdata).");
        }
        string[] files = Directory.GetFiles(OnnxTestData, "model.onnx", SearchOption.AllDirectories);
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }

    /// <summary>A fresh temporary folder, deleted at dispose.</summary>
    public static TempDir NewTempDir() => new();
}

/// <summary>A temporary folder removed when disposed.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mb-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
