namespace ModelBridge.Tests.Passes;

/// <summary>Single-node ConvTranspose models built through the IR.</summary>
public static class ConvTransposeModels
{
    public sealed record Spec
    {
        public long[] Input { get; init; } = [1, 4, 5, 6];
        public long OutChannels { get; init; } = 3;
        public long[] Kernel { get; init; } = [2, 2];
        public long[] Strides { get; init; } = [2, 2];
        public long[]? Pads { get; init; }
        public long[]? OutputPadding { get; init; }
        public long[]? Dilations { get; init; }
        public long Group { get; init; } = 1;
        public bool Bias { get; init; } = true;
        public bool KernelShapeAttribute { get; init; } = true;
        public string? AutoPad { get; init; }
        public long[]? OutputShape { get; init; }
        public long Opset { get; init; } = 13;
        public int Seed { get; init; } = 1;
        /// <summary>Weights are uniform in ±WeightScale.</summary>
        public float WeightScale { get; init; } = 1;
        public string Name { get; init; } = "/up/ConvTranspose";

        public override string ToString() =>
            $"in [{string.Join(',', Input)}] cout {OutChannels} k [{string.Join(',', Kernel)}] s [{string.Join(',', Strides)}] p [{string.Join(',', Pads ?? [])}] op [{string.Join(',', OutputPadding ?? [])}] d [{string.Join(',', Dilations ?? [])}] g {Group}";
    }

    public static Model Build(Spec s)
    {
        var m = new Model(s.Opset);
        Graph g = m.Graph;
        var rng = new Random(s.Seed);
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(s.Input)));
        long[] wDims = [s.Input[1], s.OutChannels / s.Group, .. s.Kernel];
        Value w = g.AddInitializer("w", Tensor.Create<float>(wDims, ConvModels.Random(rng, wDims.Aggregate(1L, (a, b) => a * b)).Select(v => v * s.WeightScale).ToArray()));
        Value?[] inputs = s.Bias ? [x, w, g.AddInitializer("b", Tensor.Create<float>([s.OutChannels], ConvModels.Random(rng, s.OutChannels)))] : [x, w];
        Node ct = g.AddNode("ConvTranspose", inputs, ["y"], name: s.Name);
        if (s.KernelShapeAttribute)
        {
            ct.SetInts("kernel_shape", s.Kernel);
        }
        ct.SetInts("strides", s.Strides);
        if (s.Pads is not null)
        {
            ct.SetInts("pads", s.Pads);
        }
        if (s.OutputPadding is not null)
        {
            ct.SetInts("output_padding", s.OutputPadding);
        }
        if (s.Dilations is not null)
        {
            ct.SetInts("dilations", s.Dilations);
        }
        if (s.Group != 1)
        {
            ct.SetInt("group", s.Group);
        }
        if (s.AutoPad is not null)
        {
            ct.SetString("auto_pad", s.AutoPad);
        }
        if (s.OutputShape is not null)
        {
            ct.SetInts("output_shape", s.OutputShape);
        }
        g.SetOutputs([ct.Outputs[0]!]);
        return m;
    }
}
