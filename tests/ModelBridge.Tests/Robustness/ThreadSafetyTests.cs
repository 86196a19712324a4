using System.Security.Cryptography;
using ModelBridge.OnnxProto;
using ModelBridge.Profiles;

namespace ModelBridge.Tests.Robustness;

/// <summary>Different models converted on several threads at once give what they give one at a time, refusals included.</summary>
[TestFixture]
public sealed class ThreadSafetyTests
{
    private static IEnumerable<(string Name, byte[] Bytes)> Inputs()
    {
        foreach (string f in new[] { "retinanet_mbv2_gn_op13", "mobilenet_v2", "shuffle_block", "batchnorm_unfused" })
        {
            yield return (f, File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, f, "model.onnx")));
        }
        byte[] good = File.ReadAllBytes(Path.Combine(TestPaths.Fixtures, "resnext_block", "model.onnx"));
        yield return ("truncated", good[..(good.Length / 2)]);
        ModelProto future = ModelProto.Parser.ParseFrom(good);
        future.OpsetImport[0].Version = 99;
        yield return ("future-opset", future.ToByteArray());
        ModelProto cyclic = TestModels.ReluIdentitySigmoid();
        cyclic.Graph.Node[1].Input[0] = "i";
        yield return ("cycle", cyclic.ToByteArray());
    }

    /// <summary>The converted bytes and tensor map, or the refusal, as one comparable string.</summary>
    private static string Outcome(byte[] bytes, TargetProfile profile)
    {
        try
        {
            using Model m = Model.Load(bytes);
            ConversionResult r = ModelConverter.Convert(m, profile, new ConvertOptions { Dims = new Dictionary<string, long> { ["N"] = 1 } });
            using Model c = r.Model;
            return Convert.ToHexString(SHA256.HashData(c.ToBytes())) + r.TensorMap.ToJson() + string.Join(",", r.Remaining.Unsupported.Select(n => n.Name));
        }
        catch (ModelBridgeException ex)
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }

    [Test]
    public void Concurrent_conversions_of_different_models_match_sequential_ones()
    {
        var inputs = Inputs().ToList();
        TargetProfile[] profiles = [TargetProfile.BuiltIn("ort-nnapi"), TargetProfile.BuiltIn("tflite-builtins")];
        var jobs = inputs.SelectMany(i => profiles.Select(p => (i.Name, i.Bytes, Profile: p))).ToList();
        var sequential = jobs.Select(j => Outcome(j.Bytes, j.Profile)).ToList();
        Assert.That(sequential.Count(s => s.StartsWith(nameof(InvalidModelException), StringComparison.Ordinal)), Is.EqualTo(4), "the truncated and cyclic models are refused");

        var concurrent = new string[jobs.Count * 2];
        Parallel.For(0, concurrent.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, k =>
        {
            var j = jobs[k % jobs.Count];
            concurrent[k] = Outcome(j.Bytes, j.Profile);
        });
        for (int k = 0; k < concurrent.Length; k++)
        {
            Assert.That(concurrent[k], Is.EqualTo(sequential[k % jobs.Count]), $"{jobs[k % jobs.Count].Name} on {jobs[k % jobs.Count].Profile.Name}");
        }
    }
}
