using ModelBridge.OnnxProto;
using ModelBridge.Shapes;

namespace ModelBridge.Tests.Shapes;

/// <summary>Shape inference on the ONNX conformance corpus agrees with the reference outputs.</summary>
[TestFixture]
public sealed class ShapeInferenceCorpusTests
{
    [Test]
    public void Every_fully_inferred_corpus_output_matches_the_reference_output()
    {
        string[] models = TestPaths.CorpusModels();
        int inferred = 0, unknown = 0;
        var mismatches = new List<string>();
        var crashes = new List<string>();
        var rejected = new List<string>();
        var unknownByOp = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (string path in models)
        {
            using Model model = Model.Load(path);
            Graph g = model.Graph;
            // Graph outputs declared as non-tensors (sequences, maps, optionals) have no tensor reference.
            var tensorOutputs = g.Outputs.Select((v, k) => (Value: v, Index: k, Declared: v.DeclaredType)).ToList();
            ShapeInferenceResult shapes;
            try
            {
                shapes = ShapeInference.Run(g, new ShapeInferenceOptions { MergeDeclaredTypes = false });
            }
            catch (ModelBridgeException e)
            {
                rejected.Add($"{Short(path)}: {e.Message}");
                continue;
            }
            catch (Exception e)
            {
                crashes.Add($"{Short(path)}: {e.GetType().Name}: {e.Message} {e.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");
                continue;
            }
            foreach (var (value, index, declared) in tensorOutputs)
            {
                string expectedPath = Path.Combine(Path.GetDirectoryName(path)!, "test_data_set_0", $"output_{index}.pb");
                if (declared is null || value.Producer is null || !File.Exists(expectedPath))
                {
                    continue;
                }
                TensorType? type = shapes.TypeOf(value);
                if (type?.Shape is not { } shape || !shape.TryGetStatic(out long[] dims))
                {
                    unknown++;
                    unknownByOp[value.Producer.OpType] = unknownByOp.GetValueOrDefault(value.Producer.OpType) + 1;
                    continue;
                }
                inferred++;
                TensorProto expected = TensorProto.Parser.ParseFrom(File.ReadAllBytes(expectedPath));
                if (!dims.SequenceEqual(expected.Dims))
                {
                    mismatches.Add($"{Short(path)} output {index} '{value.Name}' ({value.Producer.OpType}): inferred {shape}, reference [{string.Join(",", expected.Dims)}]");
                }
                else if (type.ElementType != (DataType)expected.DataType && !IsStoredAsBits(type.ElementType, (DataType)expected.DataType))
                {
                    mismatches.Add($"{Short(path)} output {index} '{value.Name}': inferred element type {type.ElementType}, reference {(DataType)expected.DataType}");
                }
            }
        }
        TestContext.Out.WriteLine($"models: {models.Length}, outputs fully inferred: {inferred}, unknown: {unknown}, mismatches: {mismatches.Count}, rejected: {rejected.Count}, crashes: {crashes.Count}");
        TestContext.Out.WriteLine("unknown by producer: " + string.Join(", ", unknownByOp.Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (string line in mismatches.Concat(rejected).Concat(crashes).Take(60))
        {
            TestContext.Out.WriteLine(line);
        }
        Assert.That(crashes, Is.Empty, "inference crashed:\n" + string.Join("\n", crashes.Take(10)));
        Assert.That(rejected, Is.Empty, "corpus models were rejected as malformed:\n" + string.Join("\n", rejected.Take(10)));
        Assert.That(mismatches, Is.Empty, string.Join("\n", mismatches.Take(20)));
    }

    /// <summary>The corpus stores bfloat16 references as their uint16 bit patterns.</summary>
    private static bool IsStoredAsBits(DataType inferred, DataType reference) => inferred == DataType.BFloat16 && reference == DataType.UInt16;

    private static string Short(string path) => Path.GetRelativePath(TestPaths.OnnxTestData, Path.GetDirectoryName(path)!);
}
