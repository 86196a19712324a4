using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Lowers a single-sample 1×1 convolution to a matrix product, for targets that run GEMM faster
/// than (or instead of) convolution.
/// <code>
/// Before: x[1,Ci,H,W] → Conv(W[Co,Ci,1,1], b[Co]) → y[1,Co,H,W]
/// After:  x → Reshape[Ci,H·W] → Gemm(W[Co,Ci], ·, b[Co,1]) → Reshape[1,Co,H,W] → y
///         (MatMul(W[Co,Ci], ·) when there is no bias)
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: group 1, every kernel dim 1, unit strides, zero pads, x's shape static with
/// N = 1 (no Transpose is needed: the channel axis is already the GEMM's reduction axis), constant
/// weight and (optional) bias.
/// </para>
/// <para>
/// Formula: y[o, p] = Σ_c W[o, c]·x[c, p] + b[o]. <see cref="LowerGemmToConv1x1"/> is the inverse.
/// </para>
/// <para>
/// Numerics: approximate, rtol 1e-5, atol 1e-6. ONNX Runtime's 1×1 convolution and Gemm often
/// agree bit for bit (7 of 8 seeded shapes), but not always (C_in 256: relative-to-max 1e-7), so
/// exactness is not promised.
/// </para>
/// </remarks>
public sealed class LowerConv1x1ToGemm : RewritePattern<LowerConv1x1ToGemm.Found>
{
    /// <summary>A 1×1 convolution with its input's static shape.</summary>
    /// <param name="Conv">The node.</param>
    /// <param name="Shape">x's shape.</param>
    /// <param name="Weight">W.</param>
    public sealed record Found(Node Conv, long[] Shape, Tensor Weight);

    /// <inheritdoc/>
    public override string Id => "lower-conv1x1-to-gemm";

    /// <inheritdoc/>
    public override string RootOp => "Conv";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Reshape", "Gemm", "MatMul"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-5, atol: 1e-6);

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        if (root.GetInt("group", 1) != 1)
        {
            return MatchResult.Fail("group ≠ 1");
        }
        if (Constants.Of(root.Input(1)) is not { DataType: DataType.Float, Dims.Length: >= 3 } w || w.Dims.Skip(2).Any(k => k != 1))
        {
            return MatchResult.Fail("the weight is not a constant float 1×1 kernel");
        }
        var (window, reason) = ConvWindow.TryRead(root, graph.Shapes);
        if (window is null)
        {
            return MatchResult.Fail(reason!);
        }
        if (window.Strides.Any(s => s != 1) || (window.AutoPad == "NOTSET" && window.Pads.Any(p => p != 0)))
        {
            return MatchResult.Fail("the 1×1 Conv strides or pads");
        }
        if (graph.Shapes.StaticDimsOf(root.Input(0)) is not { } shape || shape.Length != w.Dims.Length)
        {
            return MatchResult.Fail("x's shape is not static (pin the batch dim and run shape inference)");
        }
        if (shape[0] != 1)
        {
            return MatchResult.Fail($"batch is {shape[0]}, not 1");
        }
        if (root.Input(2) is { } b && Constants.Of(b) is not { DataType: DataType.Float })
        {
            return MatchResult.Fail("the bias is not constant");
        }
        return new Found(root, shape, w);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Node conv = match.Conv;
        Value x = conv.Inputs[0]!;
        long co = match.Weight.Dims[0], ci = match.Weight.Dims[1];
        long pixels = match.Shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        Value flat = rewriter.CreateInitializer("flat_shape", Tensor.Create<long>([2], [ci, pixels]));
        Value xr = rewriter.CreateNode("Reshape", [x, flat], "flatten", derivedFrom: [x], placeAfter: conv).Outputs[0]!;
        Value w = rewriter.CreateInitializer("weight", Tensor.FromBytes(DataType.Float, [co, ci], match.Weight.Data));
        Value product = conv.Input(2) is { } bias
            ? rewriter.CreateNode("Gemm", [w, xr, rewriter.CreateInitializer("bias", Tensor.FromBytes(DataType.Float, [co, 1], Constants.Of(bias)!.Data))],
                "gemm", derivedFrom: [x], placeAfter: conv).Outputs[0]!
            : rewriter.CreateNode("MatMul", [w, xr], "matmul", derivedFrom: [x], placeAfter: conv).Outputs[0]!;
        long[] outShape = [1, co, .. match.Shape.Skip(2)];
        Value shape = rewriter.CreateInitializer("shape", Tensor.Create<long>([outShape.Length], outShape));
        Node restore = rewriter.CreateNode("Reshape", [product, shape], "restore", derivedFrom: [x], placeAfter: conv);
        rewriter.Replace(conv.Outputs[0]!, restore.Outputs[0]!);
        rewriter.EraseIfUnused([conv]);
    }
}
