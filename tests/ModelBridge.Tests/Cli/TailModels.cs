namespace ModelBridge.Tests.Cli;

/// <summary>Small models with an operator no built-in target runs (Erf), written to a file for the CLI tests.</summary>
internal static class TailModels
{
    /// <summary>
    /// x → Conv a → Erf e → Mul(e, 0.5) → y and a → Relu → z; with <paramref name="convAfter"/>, the Mul is a
    /// second Conv, so the unsupported Erf sits inside the network rather than in a post-processing tail.
    /// </summary>
    public static string Write(string path, bool convAfter = false)
    {
        using var m = new Model(13);
        Graph g = m.Graph;
        var rng = new Random(11);
        Value W(string name) => g.AddInitializer(name, Tensor.Create<float>([4, 4, 1, 1], [.. Enumerable.Range(0, 16).Select(_ => (float)(rng.NextDouble() - 0.5))]));
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of([1, 4, 5, 5])));
        Node a = g.AddNode("Conv", [x, W("wa")], ["a"], "conv_a");
        Node e = g.AddNode("Erf", [a.Outputs[0]], ["e"], "erf");
        Node y = convAfter
            ? g.AddNode("Conv", [e.Outputs[0], W("wd")], ["y"], "conv_d")
            : g.AddNode("Mul", [e.Outputs[0], g.AddInitializer("half", Tensor.Create<float>([], [0.5f]))], ["y"], "scale");
        Node z = g.AddNode("Relu", [a.Outputs[0]], ["z"], "relu");
        g.SetOutputs([y.Outputs[0]!, z.Outputs[0]!]);
        m.Save(path);
        return path;
    }
}
