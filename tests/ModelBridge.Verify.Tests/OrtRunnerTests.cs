using Microsoft.ML.OnnxRuntime;

namespace ModelBridge.Verify.Tests;

[TestFixture]
public sealed class OrtRunnerTests
{
    private static readonly float[] XValues = [-1.5f, 0f, 0.25f, 2f, -3f, 7.5f];

    private static Dictionary<string, TensorData> XInput() => new() { ["x"] = TensorData.Create<float>([2, 3], XValues) };

    [Test]
    public void Runs_a_model_built_through_the_IR()
    {
        using Model model = TestModels.ReluMulNeg();
        using var runner = new OrtRunner(model);

        IReadOnlyDictionary<string, TensorData> outputs = runner.Run(XInput());

        Assert.That(runner.InputNames, Is.EqualTo(new[] { "x" }));
        Assert.That(outputs.Keys, Is.EquivalentTo(new[] { "y" }));
        Assert.That(outputs["y"].Dims, Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(outputs["y"].AsFloatSpan().ToArray(), Is.EqualTo(XValues.Select(v => -2 * Math.Max(v, 0f)).ToArray()));
    }

    [Test]
    public void Exposed_intermediate_equals_the_same_value_as_the_only_output()
    {
        using Model model = TestModels.ReluMulNeg();
        using var exposing = new OrtRunner(model, new OrtRunnerOptions { ExtraOutputs = ["a", "b"] });
        IReadOnlyDictionary<string, TensorData> all = exposing.Run(XInput());

        foreach (string name in new[] { "a", "b" })
        {
            using Model single = model.Clone();
            single.Graph.SetOutputs([single.Graph.GetValue(name)]);
            using var runner = new OrtRunner(single);
            TensorData alone = runner.Run(XInput())[name];
            Assert.That(all[name], Is.EqualTo(alone), name);
        }
        Assert.That(exposing.OutputNames, Is.EqualTo(new[] { "y", "a", "b" }));
        Assert.That(all["a"].AsFloatSpan().ToArray(), Is.EqualTo(XValues.Select(v => Math.Max(v, 0f)).ToArray()));
    }

    [Test]
    public void Exposing_needs_no_type_information_on_the_intermediate()
    {
        using Model model = TestModels.ReluMulNeg();
        Assert.That(model.Graph.GetValue("b").DeclaredType, Is.Null, "precondition: the IR does not know b's type");

        using var runner = new OrtRunner(model, new OrtRunnerOptions { ExtraOutputs = ["b"] });

        Assert.That(runner.Run(XInput())["b"].ToString(), Is.EqualTo("float[2,3]"));
    }

    [Test]
    public void Exposing_a_corpus_intermediate_matches_a_model_that_outputs_only_it()
    {
        string path = Path.Combine(TestPaths.OnnxTestData, "node", "test_layer_normalization_3d_axis0_epsilon_expanded");
        if (!File.Exists(Path.Combine(path, "model.onnx")))
        {
            TestPaths.CorpusModels();
            Assert.Ignore("test_layer_normalization_3d_axis0_epsilon_expanded is not in this corpus version.");
        }
        using Model model = Model.Load(Path.Combine(path, "model.onnx"));
        TestDataSet data = TestDataSet.Read(TestDataSet.FindFolders(path)[0], model);
        string[] intermediates = [.. model.Graph.Nodes.SelectMany(n => n.Outputs).OfType<Value>().Where(v => !v.IsGraphOutput).Select(v => v.Name)];
        Assume.That(intermediates, Is.Not.Empty);

        using var exposing = new OrtRunner(model, new OrtRunnerOptions { ExtraOutputs = intermediates, Optimization = GraphOptimization.Disabled });
        IReadOnlyDictionary<string, TensorData> all = exposing.Run(data.InputsByName());

        foreach (string name in intermediates)
        {
            using Model single = model.Clone();
            single.Graph.SetOutputs([single.Graph.GetValue(name)]);
            using var runner = new OrtRunner(single, new OrtRunnerOptions { Optimization = GraphOptimization.Disabled });
            Assert.That(all[name], Is.EqualTo(runner.Run(data.InputsByName())[name]), name);
        }
    }

    [Test]
    public void An_initializer_can_be_exposed()
    {
        using Model model = TestModels.ReluMulNeg();
        using var runner = new OrtRunner(model, new OrtRunnerOptions { ExtraOutputs = ["two"] });
        Assert.That(runner.Run(XInput())["two"], Is.EqualTo(TensorData.Scalar(2f)));
    }

    [Test]
    public void The_callers_model_is_not_changed_by_exposing_outputs()
    {
        using Model model = TestModels.ReluMulNeg();
        byte[] before = model.ToBytes();

        using (new OrtRunner(model, new OrtRunnerOptions { ExtraOutputs = ["a"] }))
        {
        }

        Assert.That(model.ToBytes(), Is.EqualTo(before));
        Assert.That(model.Graph.Outputs.Select(v => v.Name), Is.EqualTo(new[] { "y" }));
    }

    [Test]
    public void Exposing_an_unknown_value_is_refused()
    {
        using Model model = TestModels.ReluMulNeg();
        var e = Assert.Throws<ArgumentException>(() => new OrtRunner(model, new OrtRunnerOptions { ExtraOutputs = ["nope"] }));
        Assert.That(e!.Message, Does.Contain("'nope'"));
    }

    [TestCase(DataType.Float)]
    [TestCase(DataType.Double)]
    [TestCase(DataType.Float16)]
    [TestCase(DataType.BFloat16)]
    [TestCase(DataType.Int64)]
    [TestCase(DataType.Int32)]
    [TestCase(DataType.Int16)]
    [TestCase(DataType.Int8)]
    [TestCase(DataType.UInt64)]
    [TestCase(DataType.UInt32)]
    [TestCase(DataType.UInt16)]
    [TestCase(DataType.UInt8)]
    [TestCase(DataType.Bool)]
    public void Every_element_type_passes_through_unchanged(DataType type)
    {
        using Model model = TestModels.Identity(type, 3, 5);
        TensorData input = new InputGenerator(seed: 7).Generate("x", new TensorType(type, TensorShape.Of(3, 5)));
        using var runner = new OrtRunner(model);

        TensorData output = runner.Run(new Dictionary<string, TensorData> { ["x"] = input })["y"];

        Assert.That(output, Is.EqualTo(input));
    }

    [Test]
    public void Empty_and_scalar_tensors_pass_through()
    {
        using Model empty = TestModels.Identity(DataType.Float, 0, 4);
        using (var runner = new OrtRunner(empty))
        {
            TensorData output = runner.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Create<float>([0, 4], []) })["y"];
            Assert.That(output.ToString(), Is.EqualTo("float[0,4]"));
        }
        using Model scalar = TestModels.Identity(DataType.Int64);
        using (var runner = new OrtRunner(scalar))
        {
            TensorData output = runner.Run(new Dictionary<string, TensorData> { ["x"] = TensorData.Scalar(42L) })["y"];
            Assert.That(output.ToInt64Array(), Is.EqualTo(new[] { 42L }));
            Assert.That(output.Dims, Is.Empty);
        }
    }

    [Test]
    public void A_missing_input_is_refused_with_the_expected_names()
    {
        using Model model = TestModels.ReluMulNeg();
        using var runner = new OrtRunner(model);
        var e = Assert.Throws<ArgumentException>(() => runner.Run(new Dictionary<string, TensorData>()));
        Assert.That(e!.Message, Does.Contain("'x'"));
    }

    [Test]
    public void An_unknown_input_is_refused()
    {
        using Model model = TestModels.ReluMulNeg();
        using var runner = new OrtRunner(model);
        var inputs = XInput();
        inputs["extra"] = TensorData.Scalar(1f);
        Assert.Throws<ArgumentException>(() => runner.Run(inputs));
    }

    [Test]
    public void A_wrong_input_type_is_reported_by_ORT()
    {
        using Model model = TestModels.ReluMulNeg();
        using var runner = new OrtRunner(model);
        var inputs = new Dictionary<string, TensorData> { ["x"] = TensorData.Create<double>([2, 3], new double[6]) };
        Assert.Throws<OnnxRuntimeException>(() => runner.Run(inputs));
    }

    [Test]
    public void A_cancelled_token_stops_the_run()
    {
        using Model model = TestModels.ReluMulNeg();
        using var runner = new OrtRunner(model);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => runner.Run(XInput(), cts.Token));
    }

    [Test]
    public void Models_with_external_data_run_from_a_temporary_copy()
    {
        using var dir = TestPaths.NewTempDir();
        using (Model built = TestModels.MatMulWithWeight())
        {
            built.Save(dir.File("model.onnx"), new SaveOptions { ExternalData = new ExternalDataOptions("weights.bin") });
        }
        using Model model = Model.Load(dir.File("model.onnx"));
        Assume.That(model.Graph.GetValue("w").Initializer!.External, Is.Not.Null);
        var inputs = new Dictionary<string, TensorData> { ["x"] = new InputGenerator(1).Generate("x", new TensorType(DataType.Float, TensorShape.Of(1, 64))) };

        TensorData fromModel, fromPath, fromPathExposed;
        using (var runner = new OrtRunner(model))
        {
            fromModel = runner.Run(inputs)["y"];
        }
        using (var runner = new OrtRunner(dir.File("model.onnx")))
        {
            fromPath = runner.Run(inputs)["y"];
        }
        using (var runner = new OrtRunner(dir.File("model.onnx"), new OrtRunnerOptions { ExtraOutputs = ["x"] }))
        {
            IReadOnlyDictionary<string, TensorData> outputs = runner.Run(inputs);
            fromPathExposed = outputs["y"];
            Assert.That(outputs["x"], Is.EqualTo(inputs["x"]), "a graph input can be exposed too");
        }

        Assert.That(fromModel, Is.EqualTo(fromPath));
        Assert.That(fromPathExposed, Is.EqualTo(fromPath));
    }

    [Test]
    public void Thread_count_and_optimization_level_do_not_change_a_simple_result()
    {
        using Model model = TestModels.ReluMulNeg();
        TensorData? first = null;
        foreach (GraphOptimization level in Enum.GetValues<GraphOptimization>())
        {
            using var runner = new OrtRunner(model, new OrtRunnerOptions { Optimization = level, IntraOpThreads = 2 });
            TensorData y = runner.Run(XInput())["y"];
            first ??= y;
            Assert.That(y, Is.EqualTo(first), level.ToString());
        }
    }

    [Test]
    public void Negative_thread_count_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new OrtRunnerOptions { IntraOpThreads = -1 });

    [Test]
    public void A_disposed_runner_refuses_to_run()
    {
        using Model model = TestModels.ReluMulNeg();
        var runner = new OrtRunner(model);
        runner.Dispose();
        runner.Dispose();
        Assert.Throws<ObjectDisposedException>(() => runner.Run(XInput()));
    }
}
