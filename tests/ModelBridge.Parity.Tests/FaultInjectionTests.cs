using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Verify;

namespace ModelBridge.Parity.Tests;

/// <summary>
/// Faults injected into a converted fixture are found where they are: the first divergence is exactly
/// the faulty node's output, its local error is large while its input's is not, and a fault introduced
/// by a (deliberately broken) pass is attributed to that pass.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Children)]
public sealed class FaultInjectionTests
{
    private static (Model Original, ConversionResult Conversion) Convert(string fixture, string target, ConvertOptions? options = null)
    {
        Model original = Model.Load(Fixtures.Model(fixture));
        return (original, ModelConverter.Convert(original, TargetProfile.BuiltIn(target), options));
    }

    private static ParityReport Verify(Model original, ConversionResult conversion, string fixture, Tolerance? tolerance = null) =>
        ParityChecker.VerifyConversion(original, conversion, new ParityOptions { Tolerance = tolerance }, ParityInputs.FromTestData(Fixtures.TestData(fixture)));

    /// <summary>Asserts the report localises the fault at <paramref name="faulty"/> (a rewritten tensor name).</summary>
    private static void AssertLocalisedAt(ParityReport report, string faulty)
    {
        TestContext.Out.WriteLine(ParityAssertion.Describe(report));
        Assert.That(report.Passed, Is.False, "the fault is detected");
        TensorParity first = report.FirstDivergence!;
        Assert.That(first.Name, Is.EqualTo(faulty), "first divergence is the faulty node's output");
        Assert.That(first.Local, Is.Not.Null, "the first divergence is localised");
        Assert.That(first.Local!.Passed, Is.False, "its local error is large (introduced here)");
        Assert.That(first.Local.Error, Is.GreaterThan(first.Local.Threshold));
        var inputs = first.Local.Boundary.Select(report.Find).OfType<TensorParity>().ToList();
        foreach (TensorParity input in inputs)
        {
            Assert.That(input.Passed, Is.True, $"input '{input.Original}' of the faulty region is within tolerance");
            if (input.Local is { } local)
            {
                Assert.That(local.Passed, Is.True, $"input '{input.Original}' has a small local error");
            }
        }
        // Everything downstream that diverges only carries the fault: fed the original's values, it is fine.
        var carried = report.Divergences.Skip(1).Where(t => t.Local is not null).ToList();
        Assert.That(carried.Where(t => !t.Local!.Passed).Select(t => t.Original), Is.Empty, "downstream divergences are carried, not introduced");
        TestContext.Out.WriteLine($"fault at '{faulty}': local error {first.Local.Error:G3} (threshold {first.Local.Threshold:G3}); " +
            $"{inputs.Count} compared input(s); {report.Divergences.Count} diverging tensors, {carried.Count} localised downstream as carried");
    }

    [TestCase(true, TestName = "Perturbed conv weight tensor (+1%) is the first divergence")]
    [TestCase(false, TestName = "Perturbed single conv weight (+1%) is the first divergence")]
    public void Perturbed_conv_weight_is_the_first_divergence(bool wholeTensor)
    {
        const string fixture = "retinanet_mbv2_gn_op13";
        var (original, conversion) = Convert(fixture, "tflite-builtins");
        using (original)
        using (conversion.Model)
        {
            Graph g = conversion.Model.Graph;
            // A mid-graph Conv whose output is a mapped tensor.
            var convs = g.TopologicalOrder().Where(n => n.OpType == "Conv" && conversion.TensorMap.Get(n.Outputs[0]!.Name)?.Original is not null).ToList();
            Node conv = convs[convs.Count / 2];
            Value weight = conv.Inputs[1]!;
            Tensor init = weight.Initializer!;
            float[] w = init.ToFloatArray();
            if (wholeTensor)
            {
                for (int i = 0; i < w.Length; i++)
                {
                    w[i] *= 1.01f;
                }
            }
            else
            {
                // The most influential single weight: largest |w| times its input channel's largest |x| (after
                // ReLU6 some channels are all zero on this sample, and a weight on those changes nothing).
                float[] x;
                using (var runner = new OrtRunner(conversion.Model, new OrtRunnerOptions { ExtraOutputs = [conv.Inputs[0]!.Name] }))
                {
                    x = runner.Run(TestDataSet.Read(Fixtures.TestData(fixture), conversion.Model).InputsByName())[conv.Inputs[0]!.Name].ToFloatArray();
                }
                long inChannels = init.Dims[1], perChannel = init.Dims.Skip(2).Aggregate(1L, (a, b) => a * b), spatial = x.Length / inChannels;
                int k = Enumerable.Range(0, w.Length).MaxBy(i =>
                {
                    long c = i / perChannel % inChannels;
                    return Math.Abs(w[i]) * x.Skip((int)(c * spatial)).Take((int)spatial).Max(Math.Abs);
                });
                w[k] *= 1.01f;
            }
            g.SetInput(conv, 1, g.AddInitializer(weight.Name + "/perturbed", Tensor.Create<float>([.. init.Dims], w)));

            ParityReport report = Verify(original, conversion, fixture);
            AssertLocalisedAt(report, conv.Outputs[0]!.Name);
            Assert.That(report.FirstDivergence!.Attribution?.PassId, Is.Null, "a fault made after conversion is not blamed on a pass");
        }
    }

    [Test]
    public void Swapped_pad_is_the_first_divergence()
    {
        const string fixture = "conv_asym_pads_dilation";
        var (original, conversion) = Convert(fixture, "tflite-builtins");
        using (original)
        using (conversion.Model)
        {
            Graph g = conversion.Model.Graph;
            // The fixture pads asymmetrically with Pad nodes (ZeroPad2d); swap the begin and end pads of the last
            // one. Its pads are computed by a small Transpose/Reshape/Cast chain, so read them from ORT.
            Node pad = g.TopologicalOrder().Last(n => n.OpType == "Pad");
            long[] pads;
            using (var runner = new OrtRunner(conversion.Model, new OrtRunnerOptions { ExtraOutputs = [pad.Inputs[1]!.Name] }))
            {
                TestDataSet data = TestDataSet.Read(Fixtures.TestData(fixture), conversion.Model);
                pads = runner.Run(data.InputsByName())[pad.Inputs[1]!.Name].ToInt64Array();
            }
            int half = pads.Length / 2;
            Assert.That(pads.Take(half), Is.Not.EqualTo(pads.Skip(half)), "the pad is asymmetric, so swapping changes it");
            g.SetInput(pad, 1, g.AddInitializer(pad.Name + "/swapped-pads", Tensor.Create<long>([pads.Length], [.. pads.Skip(half), .. pads.Take(half)])));
            Node conv = pad;

            ParityReport report = Verify(original, conversion, fixture);
            AssertLocalisedAt(report, conv.Outputs[0]!.Name);
        }
    }

    [Test]
    public void Wrong_groupnorm_epsilon_is_the_first_divergence()
    {
        const string fixture = "retinanet_mbv2_gn_op13";
        var (original, conversion) = Convert(fixture, "ncnn");
        using (original)
        using (conversion.Model)
        {
            Graph g = conversion.Model.Graph;
            var norms = g.TopologicalOrder().Where(n => n.OpType is "GroupNormalization" or "InstanceNormalization").ToList();
            Assert.That(norms, Is.Not.Empty, "the converted detector keeps a normalisation node with an epsilon");
            Node norm = norms[norms.Count / 2];
            norm.SetFloat("epsilon", 0.5f);

            ParityReport report = Verify(original, conversion, fixture);
            // The faulty tensor is the first mapped tensor computed from the normalisation's output.
            string faulty = FirstMappedAtOrAfter(conversion, norm);
            AssertLocalisedAt(report, faulty);
        }
    }

    [Test]
    public void Broken_pass_is_named_responsible()
    {
        const string fixture = "resnet_small";
        using Model original = Model.Load(Fixtures.Model(fixture));
        string relu = original.Graph.TopologicalOrder().Where(n => n.OpType == "Relu").ElementAt(3).Name;
        var options = new ConvertOptions { AdditionalPasses = [new ScaleOneRelu(relu)] };
        ConversionResult conversion = ModelConverter.Convert(original, TargetProfile.BuiltIn("tflite-builtins"), options);
        using (conversion.Model)
        {
            Assert.That(conversion.PassIds, Does.Contain(ScaleOneRelu.PassId));
            ParityReport report = Verify(original, conversion, fixture); // the result carries the options to replay
            TestContext.Out.WriteLine(ParityAssertion.Describe(report));
            TensorParity first = report.FirstDivergence!;
            Assert.That(first, Is.Not.Null);
            Assert.That(first.Original, Is.EqualTo(original.Graph.FindNode(relu)!.Outputs[0]!.Name), "the broken Relu's output diverges first");
            Assert.That(first.Attribution?.PassId, Is.EqualTo(ScaleOneRelu.PassId), first.Attribution?.Detail);
            var ex = Assert.Throws<ParityAssertionException>(() => ParityAssert.That(report).Passes())!;
            Assert.That(ex.Message, Does.Contain(first.Original).And.Contain(ScaleOneRelu.PassId).And.Contain("max|d|"));
        }
    }

    private static string FirstMappedAtOrAfter(ConversionResult conversion, Node node)
    {
        var queue = new Queue<Value>(node.Outputs.OfType<Value>());
        var seen = new HashSet<Value>();
        while (queue.Count > 0)
        {
            Value v = queue.Dequeue();
            if (!seen.Add(v))
            {
                continue;
            }
            if (conversion.TensorMap.Get(v.Name)?.Original is not null)
            {
                return v.Name;
            }
            foreach (Use u in v.Uses)
            {
                foreach (Value? o in u.Node.Outputs)
                {
                    if (o is not null)
                    {
                        queue.Enqueue(o);
                    }
                }
            }
        }
        throw new InvalidOperationException($"No mapped tensor downstream of {node}.");
    }

    /// <summary>A deliberately broken pass: claims to be exact but scales one Relu's output by 1.01.</summary>
    private sealed class ScaleOneRelu(string target) : RewritePattern<Node>
    {
        public const string PassId = "test-broken-scale-relu";

        public override string Id => PassId;

        public override string RootOp => "Relu";

        public override IReadOnlyList<string> GeneratedOps => ["Relu", "Mul"];

        public override NumericContract Numerics => NumericContract.Exact;

        protected override MatchResult<Node> Match(IReadOnlyGraph graph, Node root) =>
            root.Name == target ? root : MatchResult.Fail("not the Relu this test breaks");

        protected override void Rewrite(GraphRewriter rewriter, Node root)
        {
            Node relu = rewriter.CreateNode("Relu", [root.Inputs[0]], "relu");
            Value scale = rewriter.CreateInitializer("scale", Tensor.Create<float>([], [1.01f]));
            Node mul = rewriter.CreateNode("Mul", [relu.Outputs[0], scale], "scale");
            rewriter.Replace(root.Outputs[0]!, mul.Outputs[0]!);
            rewriter.EraseIfUnused([root]);
        }
    }
}
