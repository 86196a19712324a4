using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Verify;

namespace ModelBridge.Tests.Passes;

/// <summary>The models from the wild in fixtures/real, converted for a target and run on their photographs.</summary>
internal static class RealModels
{
    public static string Dir(string fixture) => Path.Combine(TestPaths.Fixtures, "real", fixture);

    /// <summary>The committed test data sets (photographs preprocessed, ORT's outputs on the original).</summary>
    public static IReadOnlyList<TestDataSet> DataSets(string fixture, Model model) =>
        [.. TestDataSet.FindFolders(Dir(fixture)).Select(f => TestDataSet.Read(f, model))];

    /// <summary>Converts the fixture for <paramref name="target"/>, pinning its symbolic input dims to the photographs' size.</summary>
    public static ConversionResult Convert(string fixture, string target)
    {
        using Model original = Model.Load(Path.Combine(Dir(fixture), "model.onnx"));
        var dims = new Dictionary<string, long>(StringComparer.Ordinal);
        TestDataSet first = DataSets(fixture, original)[0];
        foreach (Value input in original.Graph.Inputs.Where(i => i.Initializer is null))
        {
            long[] actual = [.. first.InputsByName()[input.Name].Dims];
            Dim[] declared = [.. input.DeclaredType!.Shape!.Dims];
            for (int i = 0; i < declared.Length; i++)
            {
                if (declared[i].Symbol is { } symbol)
                {
                    dims[symbol] = actual[i];
                }
            }
        }
        return ModelConverter.Convert(original, TargetProfile.BuiltIn(target), new ConvertOptions { Dims = dims });
    }

    /// <summary>The nodes of the converted graph with an output that <paramref name="passId"/> produced or touched.</summary>
    public static IReadOnlyList<Node> NodesFrom(ConversionResult r, string passId) =>
        [.. r.Model.Graph.Nodes.Where(n => n.Outputs.Any(o => o is not null && r.TensorMap.Get(o.Name)?.Passes.Contains(passId) == true))];

    /// <summary>Asserts that layer-by-layer parity (every mapped tensor, on the photographs, the target's tolerance widened by the passes' contracts) passes.</summary>
    public static void AssertLayerParity(string fixture, ConversionResult r, string target)
    {
        using Model original = Model.Load(Path.Combine(Dir(fixture), "model.onnx"));
        ParityInputs inputs = ParityInputs.FromTestData(TestDataSet.FindFolders(Dir(fixture)));
        ParityReport report = ParityChecker.VerifyConversion(original, r, new ParityOptions { Target = TargetProfile.BuiltIn(target), Dims = r.Options.Dims }, inputs);
        Assert.That(report.Passed, Is.True, report.ToString());
    }

    /// <summary>Asserts that every output on every photograph is within 1e-4 relative to max of ORT's on the original.</summary>
    public static void AssertParityOnPhotographs(string fixture, Model converted)
    {
        IReadOnlyList<TestDataSet> sets = DataSets(fixture, converted);
        Assert.That(sets, Has.Count.GreaterThanOrEqualTo(2));
        Assert.Multiple(() =>
        {
            for (int k = 0; k < sets.Count; k++)
            {
                var outputs = Numerics.Run(converted, sets[k].InputsByName());
                foreach (var (name, expected) in sets[k].OutputsByName())
                {
                    double err = Numerics.RelativeToMax(expected, outputs[name]);
                    TestContext.Out.WriteLine($"{fixture}/test_data_set_{k}/{name}: relative to max {err:G3}");
                    Assert.That(err, Is.LessThanOrEqualTo(1e-4), $"test_data_set_{k}/{name}");
                }
            }
        });
    }
}
