using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Folds an inference BatchNormalization into the Conv, ConvTranspose or Gemm before it.
/// <code>
/// Before: x → Conv(W, b) → BatchNormalization(γ, β, μ, σ²) → y
/// After:  x → Conv(W', b') → y
/// </code>
/// </summary>
/// <remarks>
/// Preconditions: the producer's output has no other reader and is not a graph output; W, b and
/// the BN parameters are constant; BN is in inference mode with unused training outputs.
/// Formula (per output channel o, s = γ/√(σ²+ε)): W'[o] = W[o]·s[o], b' = (b − μ)·s + β.
/// For ConvTranspose the output channel of weight [i, j] is group(i)·(C_out/group) + j; for Gemm
/// it is column n of B (row n when transB=1), and C is folded into b'.
/// Numerics: approximate (float rounding of the folded products; computed in double).
/// </remarks>
public sealed class FoldBatchNormIntoConv : RewritePattern<FoldBatchNormIntoConv.Found>
{
    /// <summary>A BN and the node it folds into.</summary>
    /// <param name="BatchNorm">The BatchNormalization.</param>
    /// <param name="Producer">The Conv, ConvTranspose or Gemm.</param>
    /// <param name="Parameters">BN folded to scale/shift.</param>
    public sealed record Found(Node BatchNorm, Node Producer, BatchNormParameters Parameters);

    /// <inheritdoc/>
    public override string Id => "fold-batchnorm-into-conv";

    /// <inheritdoc/>
    public override string RootOp => "BatchNormalization";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Conv", "ConvTranspose", "Gemm"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-5, atol: 1e-5);

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        Value? x = root.Input(0);
        Node? producer = x?.Producer;
        if (producer is null || !producer.IsStandardDomain || producer.OpType is not ("Conv" or "ConvTranspose" or "Gemm"))
        {
            return MatchResult.Fail("input is not produced by Conv, ConvTranspose or Gemm");
        }
        if (Patterns.SoleConsumer(x) != root)
        {
            return MatchResult.Fail($"'{x!.Name}' has other readers or is a graph output");
        }
        var (p, reason) = BatchNormParameters.TryRead(root);
        if (p is null)
        {
            return MatchResult.Fail(reason!);
        }
        if (Constants.Of(producer.Input(1)) is not { DataType: DataType.Float } w)
        {
            return MatchResult.Fail($"{producer.OpType} weight is not a constant float initializer");
        }
        if (producer.Input(2) is { } b && Constants.Of(b) is not { DataType: DataType.Float })
        {
            return MatchResult.Fail($"{producer.OpType} bias is not a constant float initializer");
        }
        if (WeightProblem(producer, w) is { } problem)
        {
            return MatchResult.Fail(problem);
        }
        long outChannels = OutputChannels(producer, w);
        if (outChannels != p.Scale.Length)
        {
            return MatchResult.Fail($"BN has {p.Scale.Length} channels but {producer.OpType} produces {outChannels}");
        }
        long? biasCount = Constants.Of(producer.Input(2))?.ElementCount;
        if (producer.OpType == "Gemm" && biasCount is long cCount && cCount != 1 && cCount != outChannels)
        {
            return MatchResult.Fail("Gemm C must be a scalar or one value per output column to fold");
        }
        if (producer.OpType != "Gemm" && biasCount is long bCount && bCount != outChannels)
        {
            return MatchResult.Fail($"{producer.OpType} bias has {bCount} values for {outChannels} output channels");
        }
        return new Found(root, producer, p);
    }

    /// <summary>Why the weight's layout cannot be folded into (Rewrite indexes it by these dims), or null.</summary>
    private static string? WeightProblem(Node producer, Tensor w)
    {
        int rank = w.Dims.Length;
        if (producer.OpType == "Gemm" ? rank != 2 : rank < 3)
        {
            return $"{producer.OpType} weight {w} has rank {rank}, which is not a {producer.OpType} weight layout";
        }
        if (w.ElementCount == 0)
        {
            return $"{producer.OpType} weight {w} is empty";
        }
        long group = producer.GetInt("group", 1);
        if (producer.OpType == "ConvTranspose" && (group < 1 || w.Dims[0] % group != 0))
        {
            return $"ConvTranspose group {group} does not divide its {w.Dims[0]} input channels";
        }
        return null;
    }

    private static long OutputChannels(Node producer, Tensor w) => producer.OpType switch
    {
        "Conv" => w.Dims[0],
        "ConvTranspose" => w.Dims[1] * producer.GetInt("group", 1),
        _ => producer.GetInt("transB", 0) != 0 ? w.Dims[0] : w.Dims[1],
    };

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Node prod = match.Producer;
        Tensor w = Constants.Of(prod.Input(1))!;
        float[] wd = w.ToFloatArray();
        double[] s = match.Parameters.Scale, t = match.Parameters.Shift;
        int outC = s.Length;
        var newW = new float[wd.Length];
        switch (prod.OpType)
        {
            case "Conv":
            {
                int per = wd.Length / outC;
                for (int o = 0; o < outC; o++)
                {
                    for (int k = 0; k < per; k++)
                    {
                        newW[o * per + k] = (float)(wd[o * per + k] * s[o]);
                    }
                }
                break;
            }
            case "ConvTranspose":
            {
                long cin = w.Dims[0], coutPerGroup = w.Dims[1];
                long group = prod.GetInt("group", 1);
                long spatial = wd.Length / (cin * coutPerGroup);
                long cinPerGroup = cin / group;
                for (long i = 0; i < cin; i++)
                {
                    for (long j = 0; j < coutPerGroup; j++)
                    {
                        long o = i / cinPerGroup * coutPerGroup + j;
                        for (long k = 0; k < spatial; k++)
                        {
                            long idx = (i * coutPerGroup + j) * spatial + k;
                            newW[idx] = (float)(wd[idx] * s[o]);
                        }
                    }
                }
                break;
            }
            default:
            {
                bool transB = prod.GetInt("transB", 0) != 0;
                long rows = w.Dims[0], cols = w.Dims[1];
                for (long r = 0; r < rows; r++)
                {
                    for (long c = 0; c < cols; c++)
                    {
                        long o = transB ? r : c;
                        newW[r * cols + c] = (float)(wd[r * cols + c] * s[o]);
                    }
                }
                break;
            }
        }
        float[] oldB = Patterns.ConstFloats(prod.Input(2)) ?? [];
        double beta = prod.OpType == "Gemm" ? prod.GetFloat("beta", 1f) : 1.0;
        var newB = new float[outC];
        for (int o = 0; o < outC; o++)
        {
            double b = oldB.Length == 0 ? 0 : oldB.Length == 1 ? oldB[0] : oldB[o];
            newB[o] = (float)(b * beta * s[o] + t[o]);
        }
        Value wv = rewriter.CreateInitializer("weight", Tensor.Create<float>([.. w.Dims], newW));
        Value bv = rewriter.CreateInitializer("bias", Tensor.Create<float>([outC], newB));
        var attrs = prod.Attributes.Where(a => a.Name != "beta").ToList();
        if (prod.OpType == "Gemm")
        {
            attrs.Add(Attr.Float("beta", 1f));
        }
        Node fused = rewriter.CreateNode(prod.OpType, [prod.Inputs[0], wv, bv], "fused", attributes: attrs, placeAfter: prod);
        rewriter.Replace(match.BatchNorm.Outputs[0]!, fused.Outputs[0]!);
        rewriter.EraseIfUnused([match.BatchNorm, prod]);
    }
}
