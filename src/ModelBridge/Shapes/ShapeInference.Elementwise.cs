using ModelBridge.Ir;

namespace ModelBridge.Shapes;

public static partial class ShapeInference
{
    private static void RegisterElementwise(Dictionary<string, Action<InferenceContext>> rules)
    {
        string[] predicates = ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"];
        string[] arithmetic = ["Add", "Sub", "Mul", "Div", "Pow", "Mod", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "Max", "Min", "Sum", "Mean"];
        string[] sameAsInput = [
            "Relu", "Sigmoid", "HardSigmoid", "HardSwish", "LeakyRelu", "Tanh", "Softmax", "LogSoftmax", "Hardmax",
            "Elu", "Selu", "Celu", "Gelu", "Mish", "Softplus", "Softsign", "ThresholdedRelu", "Shrink",
            "Erf", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Sqrt", "Not",
            "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
            "BitwiseNot", "Clip", "LRN", "CumSum", "Trilu", "ReverseSequence", "MeanVarianceNormalization",
            "InstanceNormalization", "GroupNormalization", "Scatter", "ScatterElements", "ScatterND",
            "Binarizer", "PRelu",
        ];
        foreach (string op in sameAsInput)
        {
            rules[op] = c => c.SameAs(0, 0);
        }
        rules["Bernoulli"] = c => c.Set(0, c.Node.HasAttribute("dtype") ? (DataType)c.Int("dtype", 1) : c.ElemOf(0), c.DimsOf(0));
        rules["IsNaN"] = c => c.Set(0, DataType.Bool, c.DimsOf(0));
        rules["IsInf"] = c => c.Set(0, DataType.Bool, c.DimsOf(0));
        foreach (string op in arithmetic)
        {
            rules[op] = c =>
            {
                Broadcast(c, Enumerable.Range(0, c.InputCount), c.ElemOf(0));
                FoldElementwise(c);
            };
        }
        foreach (string op in predicates)
        {
            rules[op] = c =>
            {
                Broadcast(c, [0, 1], DataType.Bool);
                FoldElementwise(c);
            };
        }
        rules["Where"] = c =>
        {
            Broadcast(c, [0, 1, 2], c.ElemOf(1));
            FoldElementwise(c);
        };
        rules["Identity"] = c =>
        {
            c.SameAs(0, 0);
            FoldCopy(c, 0);
        };
        rules["Cast"] = c =>
        {
            var to = (DataType)c.Node.GetInt("to");
            c.Set(0, to, c.DimsOf(0));
            if (IsIntegral(to) && IsIntegral(c.ElemOf(0)))
            {
                FoldCast(c, to);
            }
        };
        rules["CastLike"] = c =>
        {
            c.Set(0, c.ElemOf(1), c.DimsOf(0));
            if (IsIntegral(c.ElemOf(1)) && IsIntegral(c.ElemOf(0)))
            {
                FoldCast(c, c.ElemOf(1));
            }
        };
        rules["QuantizeLinear"] = c =>
            c.Set(0, c.HasInput(2) ? c.ElemOf(2) : c.Node.HasAttribute("output_dtype") ? (DataType)c.Int("output_dtype", 2) : DataType.UInt8, c.DimsOf(0));
        rules["DequantizeLinear"] = c => c.Set(0, c.ElemOf(1) == DataType.Undefined ? DataType.Float : c.ElemOf(1), c.DimsOf(0));
        rules["DynamicQuantizeLinear"] = c =>
        {
            c.Set(0, DataType.UInt8, c.DimsOf(0));
            c.Set(1, DataType.Float, []);
            c.Set(2, DataType.UInt8, []);
        };
        rules["NegativeLogLikelihoodLoss"] = c => Loss(c, target: 1);
        rules["SoftmaxCrossEntropyLoss"] = c =>
        {
            Loss(c, target: 1);
            c.SameAs(1, 0);
        };
        rules["Dropout"] = c =>
        {
            c.SameAs(0, 0);
            // The mask is T before opset 10 and bool from 10 (T1 = tensor(bool)).
            c.Set(1, c.Opset < 10 ? c.ElemOf(0) : DataType.Bool, c.DimsOf(0));
        };
    }

    /// <summary>A loss: the target's shape with reduction "none", else a scalar (the default "mean" or "sum").</summary>
    private static void Loss(InferenceContext c, int target)
    {
        string reduction = c.Str("reduction", "mean");
        c.Set(0, c.ElemOf(0), reduction == "none" ? c.DimsOf(target) : []);
    }

    /// <summary>Output 0 is the multidirectional broadcast of the given inputs.</summary>
    private static void Broadcast(InferenceContext c, IEnumerable<int> inputs, DataType type)
    {
        int[] slots = [.. inputs.Where(c.HasInput)];
        if (slots.Length == 0)
        {
            c.Fail("at least one input is required");
        }
        List<Dim>? dims = DimMath.Broadcast([.. slots.Select(c.DimsOf)], out string? conflict);
        if (conflict is not null)
        {
            string shapes = string.Join(" and ", slots.Select(i => InferenceContext.Format(c.DimsOf(i)!)));
            c.Fail($"inputs {shapes} do not broadcast ({conflict})");
        }
        c.Set(0, type, dims);
    }
}
