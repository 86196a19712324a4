namespace ModelBridge.Verify.Tests;

/// <summary>Small models built through the IR.</summary>
internal static class TestModels
{
    /// <summary>
    /// <c>x -> Relu -> a -> Mul(a, 2) -> b -> Neg -> y</c>, with x: float[2,3]. Only x has a
    /// declared type; ORT infers the rest.
    /// </summary>
    public static Model ReluMulNeg()
    {
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(2, 3)));
        Value two = g.AddInitializer("two", Tensor.Create<float>([], [2f]));
        Value a = g.AddNode("Relu", [x], ["a"]).Outputs[0]!;
        Value b = g.AddNode("Mul", [a, two], ["b"]).Outputs[0]!;
        Value y = g.AddNode("Neg", [b], ["y"]).Outputs[0]!;
        g.SetOutputs([y]);
        return model;
    }

    /// <summary><c>y = Identity(x)</c> for an element type and shape.</summary>
    public static Model Identity(DataType type, params long[] dims)
    {
        var model = new Model(opsetVersion: 21);
        Graph g = model.Graph;
        var tensorType = new TensorType(type, TensorShape.Of(dims));
        Value x = g.AddInput("x", tensorType);
        Value y = g.AddNode("Identity", [x], ["y"]).Outputs[0]!;
        y.DeclaredType = tensorType;
        g.SetOutputs([y]);
        return model;
    }

    /// <summary><c>y = MatMul(x, w)</c> with a float[64,64] weight, large enough to go to external data.</summary>
    public static Model MatMulWithWeight()
    {
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(1, 64)));
        float[] weights = new float[64 * 64];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = ((i * 37) % 101 - 50) / 50f;
        }
        Value w = g.AddInitializer("w", Tensor.Create<float>([64, 64], weights));
        Value y = g.AddNode("MatMul", [x, w], ["y"]).Outputs[0]!;
        g.SetOutputs([y]);
        return model;
    }
}
