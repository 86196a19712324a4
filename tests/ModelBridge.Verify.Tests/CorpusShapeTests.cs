using Microsoft.ML.OnnxRuntime;
using ModelBridge.Shapes;

namespace ModelBridge.Verify.Tests;

/// <summary>Inferred output shapes agree with the shapes ONNX Runtime actually produces.</summary>
[TestFixture]
public sealed class CorpusShapeTests
{
    [Test]
    public void Inferred_output_shapes_equal_ort_output_shapes()
    {
        string[] models = TestPaths.CorpusModels();
        var options = new OrtRunnerOptions { IntraOpThreads = 1, LogLevel = OrtLogLevel.Fatal };
        int ran = 0, outputs = 0, known = 0;
        var mismatches = new List<string>();
        foreach (string path in models)
        {
            string id = Path.GetRelativePath(TestPaths.OnnxTestData, Path.GetDirectoryName(path)!);
            using Model model = Model.Load(path);
            if (model.Graph.Inputs.Any(v => v.Initializer is null && (v.DeclaredType is null || v.DeclaredType.ElementType == DataType.String)))
            {
                continue;
            }
            string? folder = TestDataSet.FindFolders(Path.GetDirectoryName(path)!).FirstOrDefault();
            if (folder is null)
            {
                continue;
            }
            IReadOnlyDictionary<string, TensorData> actual;
            try
            {
                TestDataSet data = CorpusExecutionTests.RetypeLegacyBFloat16(TestDataSet.Read(folder, model), model);
                using var runner = new OrtRunner(model, options);
                actual = runner.Run(data.InputsByName());
            }
            catch (Exception e) when (e is OnnxRuntimeException or NotSupportedException)
            {
                continue;
            }
            ran++;
            ShapeInferenceResult shapes = ShapeInference.Run(model.Graph, new ShapeInferenceOptions { MergeDeclaredTypes = false });
            foreach (Value o in model.Graph.Outputs)
            {
                outputs++;
                if (shapes.ShapeOf(o) is not { } s || !s.TryGetStatic(out long[] dims) || !actual.TryGetValue(o.Name, out TensorData? t))
                {
                    continue;
                }
                known++;
                if (!dims.SequenceEqual(t.Dims))
                {
                    mismatches.Add($"{id}/{o.Name}: inferred [{string.Join(",", dims)}], ORT [{string.Join(",", t.Dims)}]");
                }
            }
        }
        TestContext.Out.WriteLine($"models run: {ran}; outputs: {outputs}; fully inferred: {known}; mismatches: {mismatches.Count}");
        Assert.That(known, Is.GreaterThan(outputs / 2));
        Assert.That(mismatches, Is.Empty, string.Join("\n", mismatches.Take(20)));
    }
}
