using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

/// <summary>Builds the GroupNorm patterns exporters emit, through the IR.</summary>
internal static class GroupNormModels
{
    public sealed record Options
    {
        public long Opset { get; init; } = 13;
        public long Groups { get; init; } = 2;
        public long Channels { get; init; } = 8;
        public bool ShapeFromShapeOp { get; init; } = true;
        public bool Affine { get; init; } = true;
        public bool Moments { get; init; }
        public float InstanceScale { get; init; } = 1f;
        public bool ExtraReaderOfNormalized { get; init; }
    }

    public static Model Build(Options o)
    {
        var model = new Model(o.Opset);
        Graph g = model.Graph;
        long c = o.Channels;
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(1, c, 4, 5)));
        Value groupShape = g.AddInitializer("group_shape", Tensor.Create<long>([3], [0, o.Groups, -1]));
        Node r1 = g.AddNode("Reshape", [x, groupShape], ["grouped"], name: "/gn/Reshape");
        Value normalized;
        if (!o.Moments)
        {
            Value ones = g.AddInitializer("ones", Tensor.Create<float>([o.Groups], [.. Enumerable.Repeat(o.InstanceScale, (int)o.Groups)]));
            Value zeros = g.AddInitializer("zeros", Tensor.Create<float>([o.Groups], new float[o.Groups]));
            Node inorm = g.AddNode("InstanceNormalization", [r1.Outputs[0], ones, zeros], ["inorm"], name: "/gn/InstanceNormalization");
            inorm.SetFloat("epsilon", 1e-5f);
            normalized = inorm.Outputs[0]!;
        }
        else
        {
            Node mean = g.AddNode("ReduceMean", [r1.Outputs[0]], ["mean"], name: "/gn/ReduceMean");
            mean.SetInts("axes", [-1]);
            Node sub = g.AddNode("Sub", [r1.Outputs[0], mean.Outputs[0]], ["centered"], name: "/gn/Sub");
            Value two = g.AddInitializer("two", Tensor.Create<float>([], [2f]));
            Node pow = g.AddNode("Pow", [sub.Outputs[0], two], ["sq"], name: "/gn/Pow");
            Node var = g.AddNode("ReduceMean", [pow.Outputs[0]], ["var"], name: "/gn/ReduceMean_1");
            var.SetInts("axes", [-1]);
            Value eps = g.AddInitializer("eps", Tensor.Create<float>([], [1e-5f]));
            Node add = g.AddNode("Add", [var.Outputs[0], eps], ["var_eps"], name: "/gn/Add_eps");
            Node sqrt = g.AddNode("Sqrt", [add.Outputs[0]], ["std"], name: "/gn/Sqrt");
            normalized = g.AddNode("Div", [sub.Outputs[0], sqrt.Outputs[0]], ["normalized"], name: "/gn/Div").Outputs[0]!;
        }
        Value restoreShape = o.ShapeFromShapeOp
            ? g.AddNode("Shape", [x], ["x_shape"], name: "/gn/Shape").Outputs[0]!
            : g.AddInitializer("x_shape_const", Tensor.Create<long>([4], [1, c, 4, 5]));
        Node r2 = g.AddNode("Reshape", [normalized, restoreShape], ["restored"], name: "/gn/Reshape_1");
        Value y = r2.Outputs[0]!;
        if (o.Affine)
        {
            var rng = new Random(7);
            Value w = g.AddInitializer("gamma", Tensor.Create<float>([c, 1, 1], [.. Enumerable.Range(0, (int)c).Select(_ => 0.5f + (float)rng.NextDouble())]));
            Value b = g.AddInitializer("beta", Tensor.Create<float>([c, 1, 1], [.. Enumerable.Range(0, (int)c).Select(_ => (float)rng.NextDouble() - 0.5f)]));
            Node mul = g.AddNode("Mul", [y, w], ["scaled"], name: "/gn/Mul");
            y = g.AddNode("Add", [mul.Outputs[0], b], ["gn_out"], name: "/gn/Add").Outputs[0]!;
        }
        Node relu = g.AddNode("Relu", [y], ["y"], name: "/act/Relu");
        var outputs = new List<Value> { relu.Outputs[0]! };
        if (o.ExtraReaderOfNormalized)
        {
            outputs.Add(g.AddNode("Neg", [normalized], ["leak"], name: "/leak/Neg").Outputs[0]!);
        }
        g.SetOutputs(outputs);
        return model;
    }

    public static Pipeline FusionPipeline() => new([new ConstantToInitializer(), new FuseGroupNorm(), new EliminateDeadNodes()]);
}
