using Google.Protobuf;
using ModelBridge.Ir;
using ModelBridge.OnnxProto;

namespace ModelBridge.Benchmarks;

/// <summary>
/// A deterministic large model built by the project itself: a detector-shaped chain of 3x3
/// convolutions, each followed by GroupNorm in PyTorch's exported form and Relu, with seeded
/// weights (about <c>megabytes</c> MB), under /backbone, /fpn and /head scopes, cached on disk.
/// </summary>
public static class LargeModel
{
    /// <summary>Path of the cached model of the given size, building it on first use.</summary>
    public static string Path(int megabytes = 150)
    {
        string dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "modelbridge-bench");
        Directory.CreateDirectory(dir);
        string path = System.IO.Path.Combine(dir, $"gn-detector-{megabytes}mb.onnx");
        if (!File.Exists(path))
        {
            Build(megabytes).Save(path);
        }
        return path;
    }

    private static Model Build(int megabytes)
    {
        // A detector-shaped chain: 3x3 conv → GroupNorm as PyTorch exports it
        // (Reshape → InstanceNormalization → Reshape(Shape(x)) → Mul → Add) → Relu, repeated.
        var model = new Model(opsetVersion: 13);
        Graph g = model.Graph;
        const int channels = 256, groups = 8;
        long perConv = channels * channels * 9 * 4L;
        int layers = (int)Math.Max(1, (megabytes * (1L << 20)) / perConv);
        Value x = g.AddInput("input", new TensorType(DataType.Float, TensorShape.Of(1, channels, 8, 8)));
        var rng = new Random(1234);
        Value groupShape = g.AddInitializer("gn.group_shape", Tensor.Create<long>([3], [0, groups, -1]));
        Value ones = g.AddInitializer("gn.ones", Tensor.Create<float>([groups], [.. Enumerable.Repeat(1f, groups)]));
        Value zeros = g.AddInitializer("gn.zeros", Tensor.Create<float>([groups], new float[groups]));
        for (int i = 0; i < layers; i++)
        {
            float[] w = new float[channels * channels * 9];
            for (int k = 0; k < w.Length; k++)
            {
                w[k] = (float)(rng.NextDouble() - 0.5) * 0.05f;
            }
            string scope = i < layers / 2 ? $"/backbone/layer{i}" : i < 3 * layers / 4 ? $"/fpn/layer{i}" : $"/head/layer{i}";
            Value wv = g.AddInitializer($"{scope}.conv.weight", Tensor.Create<float>([channels, channels, 3, 3], w));
            Value bv = g.AddInitializer($"{scope}.conv.bias", Tensor.Create<float>([channels], new float[channels]));
            Node conv = g.AddNode("Conv", [x, wv, bv], [$"{scope}/conv/Conv_output_0"], name: $"{scope}/conv/Conv");
            conv.SetInts("pads", [1, 1, 1, 1]);
            conv.SetInts("kernel_shape", [3, 3]);
            Value c = conv.Outputs[0]!;
            Node r1 = g.AddNode("Reshape", [c, groupShape], [$"{scope}/gn/Reshape_output_0"], name: $"{scope}/gn/Reshape");
            Node inorm = g.AddNode("InstanceNormalization", [r1.Outputs[0], ones, zeros], [$"{scope}/gn/InstanceNormalization_output_0"], name: $"{scope}/gn/InstanceNormalization");
            inorm.SetFloat("epsilon", 1e-5f);
            Node shape = g.AddNode("Shape", [c], [$"{scope}/gn/Shape_output_0"], name: $"{scope}/gn/Shape");
            Node r2 = g.AddNode("Reshape", [inorm.Outputs[0], shape.Outputs[0]], [$"{scope}/gn/Reshape_1_output_0"], name: $"{scope}/gn/Reshape_1");
            Value gamma = g.AddInitializer($"{scope}.gn.weight", Tensor.Create<float>([channels, 1, 1], [.. Enumerable.Range(0, channels).Select(_ => 0.5f + (float)rng.NextDouble())]));
            Value beta = g.AddInitializer($"{scope}.gn.bias", Tensor.Create<float>([channels, 1, 1], [.. Enumerable.Range(0, channels).Select(_ => (float)rng.NextDouble() - 0.5f)]));
            Node mul = g.AddNode("Mul", [r2.Outputs[0], gamma], [$"{scope}/gn/Mul_output_0"], name: $"{scope}/gn/Mul");
            Node add = g.AddNode("Add", [mul.Outputs[0], beta], [$"{scope}/gn/Add_output_0"], name: $"{scope}/gn/Add");
            Node relu = g.AddNode("Relu", [add.Outputs[0]], [$"{scope}/relu/Relu_output_0"], name: $"{scope}/relu/Relu");
            x = relu.Outputs[0]!;
        }
        g.SetOutputs([x]);
        return model;
    }

    /// <summary>Parses with the generated protobuf classes only: the .NET floor for reading.</summary>
    internal static ModelProto ParsePlain(byte[] bytes) => ModelProto.Parser.ParseFrom(bytes);

    /// <summary>Serialises with the generated classes only: the .NET floor for writing.</summary>
    internal static void WritePlain(ModelProto proto, Stream s) => proto.WriteTo(s);
}
