namespace ModelBridge.Parity.Tests;

/// <summary>The committed fixtures (fixtures/*/model.onnx).</summary>
internal static class Fixtures
{
    /// <summary>The repository's fixtures folder.</summary>
    public static string Root
    {
        get
        {
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "ModelBridge.sln")))
            {
                dir = Path.GetDirectoryName(dir);
            }
            return Path.Combine(dir ?? throw new DirectoryNotFoundException("ModelBridge.sln not found above " + AppContext.BaseDirectory), "fixtures");
        }
    }

    /// <summary>Fixture names, sorted.</summary>
    public static IReadOnlyList<string> Names =>
        [.. Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, "model.onnx"))).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    /// <summary>The model file of a fixture.</summary>
    public static string Model(string name) => Path.Combine(Root, name, "model.onnx");

    /// <summary>The test-data folder holding PyTorch's outputs.</summary>
    public static string TestData(string name) => Path.Combine(Root, name, "test_data_set_0");
}
