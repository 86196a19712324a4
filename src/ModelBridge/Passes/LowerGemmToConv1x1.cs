using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Lowers a fully connected Gemm with constant weights to a 1×1 convolution, for targets that
/// run convolutions but not GEMM.
/// <code>
/// Before: a[N,K] → Gemm(B, C, transB) → y[N,M]
/// After:  a → Reshape[N,K,1,1] → Conv(W[M,K,1,1], b[M]) → Reshape[N,M] → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: alpha = beta = 1, transA = 0, a's shape static [N, K], B constant ([K, M], or
/// [M, K] with transB = 1), C absent or constant with 1 or M elements ([M] or [1, M]).
/// </para>
/// <para>
/// Formula: y[n, m] = Σ_k a[n, k]·B[k, m] + C[m] = Conv(a[n, :, 1, 1], W[m, k] = B[k, m]).
/// <see cref="LowerConv1x1ToGemm"/> is the inverse for N = 1.
/// </para>
/// <para>
/// Numerics: approximate, rtol 1e-5, atol 1e-6. Measured in ONNX Runtime on four seeded shapes
/// (N 1–8, K 7–512): never bit-identical, relative-to-max difference up to 5e-7.
/// </para>
/// </remarks>
public sealed class LowerGemmToConv1x1 : RewritePattern<LowerGemmToConv1x1.Found>
{
    /// <summary>A Gemm and its conv weights.</summary>
    /// <param name="Gemm">The node.</param>
    /// <param name="Batch">N.</param>
    /// <param name="Weight">W[M,K] (row-major).</param>
    /// <param name="Bias">b[M], or null.</param>
    /// <param name="K">K.</param>
    /// <param name="M">M.</param>
    public sealed record Found(Node Gemm, long Batch, float[] Weight, float[]? Bias, long K, long M);

    /// <inheritdoc/>
    public override string Id => "lower-gemm-to-conv1x1";

    /// <inheritdoc/>
    public override string RootOp => "Gemm";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Reshape", "Conv"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-5, atol: 1e-6);

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        if (root.GetFloat("alpha", 1f) != 1f || root.GetFloat("beta", 1f) != 1f || root.GetInt("transA", 0) != 0)
        {
            return MatchResult.Fail("alpha, beta must be 1 and transA 0");
        }
        if (graph.Shapes.StaticDimsOf(root.Input(0)) is not [long n, long k])
        {
            return MatchResult.Fail("A's shape is not static [N, K]");
        }
        if (Constants.Of(root.Input(1)) is not { DataType: DataType.Float, Dims.Length: 2 } b)
        {
            return MatchResult.Fail("B is not a constant float matrix");
        }
        bool transB = root.GetInt("transB", 0) != 0;
        long m = transB ? b.Dims[0] : b.Dims[1];
        if ((transB ? b.Dims[1] : b.Dims[0]) != k)
        {
            return MatchResult.Fail("B's reduction dim does not match A");
        }
        float[] bd = b.ToFloatArray();
        var weight = new float[m * k];
        for (long i = 0; i < m; i++)
        {
            for (long j = 0; j < k; j++)
            {
                weight[i * k + j] = transB ? bd[i * k + j] : bd[j * m + i];
            }
        }
        float[]? bias = null;
        if (root.Input(2) is { } c)
        {
            if (Constants.Of(c) is not { DataType: DataType.Float } ct || ct.Dims.Length > 2 || (ct.Dims.Length == 2 && ct.Dims[0] != 1))
            {
                return MatchResult.Fail("C is not a constant of shape [M], [1, M] or a scalar");
            }
            float[] cv = ct.ToFloatArray();
            if (cv.Length != 1 && cv.Length != m)
            {
                return MatchResult.Fail($"C has {cv.Length} elements, not 1 or {m}");
            }
            bias = cv.Length == m ? cv : [.. Enumerable.Repeat(cv[0], (int)m)];
        }
        return new Found(root, n, weight, bias, k, m);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Node gemm = match.Gemm;
        Value a = gemm.Inputs[0]!;
        Value s4 = rewriter.CreateInitializer("nchw_shape", Tensor.Create<long>([4], [match.Batch, match.K, 1, 1]));
        Value a4 = rewriter.CreateNode("Reshape", [a, s4], "to_nchw", derivedFrom: [a], placeAfter: gemm).Outputs[0]!;
        Value w = rewriter.CreateInitializer("weight", Tensor.Create<float>([match.M, match.K, 1, 1], match.Weight));
        Value?[] ins = match.Bias is null ? [a4, w] : [a4, w, rewriter.CreateInitializer("bias", Tensor.Create<float>([match.M], match.Bias))];
        Value y4 = rewriter.CreateNode("Conv", ins, "conv", attributes: [Attr.Ints("kernel_shape", 1, 1)], derivedFrom: [a], placeAfter: gemm).Outputs[0]!;
        Value s2 = rewriter.CreateInitializer("shape", Tensor.Create<long>([2], [match.Batch, match.M]));
        Node restore = rewriter.CreateNode("Reshape", [y4, s2], "restore", derivedFrom: [a], placeAfter: gemm);
        rewriter.Replace(gemm.Outputs[0]!, restore.Outputs[0]!);
        rewriter.EraseIfUnused([gemm]);
    }
}
