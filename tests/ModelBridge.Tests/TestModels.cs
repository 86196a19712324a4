using Google.Protobuf;
using ModelBridge.OnnxProto;

namespace ModelBridge.Tests;

/// <summary>Small models built directly as protobuf, independent of the IR under test.</summary>
internal static class TestModels
{
    /// <summary>x -> Relu -> Identity -> Sigmoid -> y, with a float initializer feeding an Add.</summary>
    public static ModelProto ReluIdentitySigmoid()
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(Info("x", 1, 2, 3));
        g.Output.Add(Info("y", 1, 2, 3));
        g.Initializer.Add(FloatTensor("bias", [3], [0.5f, -1f, 2f]));
        g.Node.Add(Node("Add", ["x", "bias"], ["a"], "add"));
        g.Node.Add(Node("Relu", ["a"], ["r"], "relu"));
        g.Node.Add(Node("Identity", ["r"], ["i"], "identity"));
        g.Node.Add(Node("Sigmoid", ["i"], ["s"], "sigmoid"));
        g.Node.Add(Node("Neg", ["i"], ["n"], "neg"));
        g.Node.Add(Node("Add", ["s", "n"], ["y"], "sum"));
        return Wrap(g);
    }

    public static ModelProto Wrap(GraphProto g, long opset = 13)
    {
        var m = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = opset });
        return m;
    }

    public static NodeProto Node(string op, string[] inputs, string[] outputs, string name)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.Add(inputs);
        n.Output.Add(outputs);
        return n;
    }

    public static ValueInfoProto Info(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } },
        };
    }

    public static TensorProto FloatTensor(string name, long[] dims, float[] values)
    {
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.Add(dims);
        byte[] raw = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        t.RawData = ByteString.CopyFrom(raw);
        return t;
    }

    public static byte[] Bytes(ModelProto m) => m.ToByteArray();
}
