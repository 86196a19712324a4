using Google.Protobuf;
using ModelBridge.Ir;
using ModelBridge.OnnxProto;

namespace ModelBridge.Benchmarks;

/// <summary>
/// A deterministic large model built by the project itself: a chain of 3x3 convolutions with
/// seeded weights, about <c>megabytes</c> MB of float initializers, cached on disk.
/// </summary>
public static class LargeModel
{
    /// <summary>Path of the cached model of the given size, building it on first use.</summary>
    public static string Path(int megabytes = 150)
    {
        string dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "modelbridge-bench");
        Directory.CreateDirectory(dir);
        string path = System.IO.Path.Combine(dir, $"conv-chain-{megabytes}mb.onnx");
        if (!File.Exists(path))
        {
            Build(megabytes).Save(path);
        }
        return path;
    }

    private static Model Build(int megabytes)
    {
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        const int channels = 256;
        long perConv = channels * channels * 9 * 4L;
        int layers = (int)Math.Max(1, (megabytes * (1L << 20)) / perConv);
        Value x = g.AddInput("input", new TensorType(DataType.Float, TensorShape.Of(1, channels, 16, 16)));
        var rng = new Random(1234);
        for (int i = 0; i < layers; i++)
        {
            float[] w = new float[channels * channels * 9];
            for (int k = 0; k < w.Length; k++)
            {
                w[k] = (float)(rng.NextDouble() - 0.5) * 0.05f;
            }
            Value wv = g.AddInitializer($"conv{i}.weight", Tensor.Create<float>([channels, channels, 3, 3], w));
            Value bv = g.AddInitializer($"conv{i}.bias", Tensor.Create<float>([channels], new float[channels]));
            Node conv = g.AddNode("Conv", [x, wv, bv], [$"/layer{i}/conv/Conv_output_0"], name: $"/layer{i}/conv/Conv");
            conv.SetInts("pads", [1, 1, 1, 1]);
            conv.SetInts("kernel_shape", [3, 3]);
            Node relu = g.AddNode("Relu", [conv.Outputs[0]], [$"/layer{i}/relu/Relu_output_0"], name: $"/layer{i}/relu/Relu");
            x = relu.Outputs[0]!;
        }
        g.SetOutputs([x]);
        return model;
    }

    /// <summary>Parses with the generated protobuf classes only: the .NET floor for reading.</summary>
    public static ModelProto ParsePlain(byte[] bytes) => ModelProto.Parser.ParseFrom(bytes);

    /// <summary>Serialises with the generated classes only: the .NET floor for writing.</summary>
    public static void WritePlain(ModelProto proto, Stream s) => proto.WriteTo(s);
}
