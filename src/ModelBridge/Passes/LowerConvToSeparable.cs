using MathNet.Numerics.LinearAlgebra;
using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;
using ModelBridge.Slimming;

namespace ModelBridge.Passes;

/// <summary>What <see cref="LowerConvToSeparable"/> did to one convolution.</summary>
/// <param name="Node">The original Conv's name.</param>
/// <param name="Rank">Chosen rank r (the depthwise multiplier).</param>
/// <param name="FullRank">min(C_out, k_h·k_w): the rank that reproduces W up to float error.</param>
/// <param name="WeightError">‖W − Ŵ‖_F / ‖W‖_F of the float factors actually written.</param>
/// <param name="MacsBefore">Multiply-accumulates per sample before (null when y's spatial shape is unknown).</param>
/// <param name="MacsAfter">Multiply-accumulates per sample after (depthwise + pointwise).</param>
/// <param name="ParametersBefore">Weight and bias elements before.</param>
/// <param name="ParametersAfter">Weight and bias elements after.</param>
public sealed record SeparableReport(string Node, int Rank, int FullRank, double WeightError,
    long? MacsBefore, long? MacsAfter, long ParametersBefore, long ParametersAfter) : PassNote(Node);

/// <summary>
/// Factors selected K×K convolutions into a depthwise K×K convolution followed by a 1×1
/// convolution, with a per-input-channel SVD of the weight ("replace the FPN's convolutions with
/// depthwise ones").
/// <code>
/// Before: x[N,Ci,H,W] → Conv(W[Co,Ci,k,k], b, strides, pads, dilations) → y
/// After:  x → Conv(D[Ci·r,1,k,k], group=Ci, strides, pads, dilations) → Conv(P[Co,Ci·r,1,1], b) → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: <see cref="Scope"/> addresses the Conv (<see cref="NodeNaming.Matches"/>: its name, an output name or a weight name), group = 1, a kernel of more than
/// one element, a constant float weight and a constant bias (or none).
/// </para>
/// <para>
/// Formula: for each input channel c, the slice A_c = W[:, c, :, :] is a Co × k² matrix with SVD
/// A_c = Σ_j σ_j u_j v_jᵀ. Keeping r terms gives D[c·r + j] = √σ_j v_j (reshaped to k×k) and
/// P[:, c·r + j] = √σ_j u_j, so that Σ_j P[o, c·r + j]·D[c·r + j] = Ŵ[o, c] and the two convolutions
/// compute y = Ŵ ∗ x + b. ONNX's depthwise layout (output channel c·r + j belongs to group c) is
/// what makes D a depthwise weight with multiplier r. The depthwise conv keeps the strides, pads,
/// dilations and auto_pad; the 1×1 conv has none and carries the bias.
/// </para>
/// <para>
/// Rank: one r per convolution (the depthwise multiplier is uniform), the smallest with
/// √(Σ_c Σ_{j≥r} σ_{c,j}²) / ‖W‖_F ≤ <see cref="ErrorBudget"/>. r = min(Co, k²) is exact up to
/// float error; smaller r trades accuracy for MACs. Full rank costs more MACs than the original
/// (the 1×1 conv alone has Co·Ci·k² of them), so savings need a budget that lets r fall well below k².
/// Each rewrite records a <see cref="SeparableReport"/> in its pass statistics (<see cref="PassStatistics.Notes"/>).
/// </para>
/// <para>
/// Cost per output pixel: MACs C_out·C_in·K² before, C_in·r·(K² + C_out) after; parameters
/// C_out·C_in·K² + C_out before, C_in·r·K² + C_out·C_in·r + C_out after.
/// </para>
/// <para>
/// Plan mode (<see cref="LowerConvToSeparable(SlimPlan)"/>): the convs whose weight a <see cref="SlimPlan"/>
/// plans for <see cref="FactorizationMethod.Separable"/> get the plan's factors (pointwise factor and bias
/// fitted to calibration data), each output recording the plan's budget for it, and a
/// <see cref="FactorizationNote"/> instead of a <see cref="SeparableReport"/>.
/// </para>
/// <para>
/// Numerics: approximate with rtol = atol = max(E, 1e-5). This is a scale relation, not a
/// bound: for y = W ∗ x, ‖Δy‖ ≤ ‖ΔW‖_F·‖x_patch‖, so with activations of unit scale the output
/// error is of the order of E relative to the output's magnitude; E = 0 still leaves float
/// rounding of two convolutions instead of one. Errors compound through the network, which is why
/// the parity checker measures and reports them rather than trusting this contract.
/// </para>
/// </remarks>
public sealed class LowerConvToSeparable : RewritePattern<LowerConvToSeparable.Found>
{

    /// <summary>Creates the pass.</summary>
    /// <param name="scope">Convolutions whose node name contains this string are lowered (e.g. <c>/fpn/</c>; empty for all).</param>
    /// <param name="errorBudget">E: the largest relative Frobenius error of each convolution's weight (0 for full rank).</param>
    public LowerConvToSeparable(string scope, double errorBudget)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentOutOfRangeException.ThrowIfNegative(errorBudget);
        if (double.IsNaN(errorBudget))
        {
            throw new ArgumentOutOfRangeException(nameof(errorBudget), "The error budget is NaN.");
        }
        Scope = scope;
        ErrorBudget = errorBudget;
    }

    /// <summary>Plan mode: applies the plan's depthwise-separable factorisations.</summary>
    public LowerConvToSeparable(SlimPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Plan = plan;
        Scope = string.Empty;
    }

    /// <summary>The pass id.</summary>
    public const string PassId = "lower-conv-to-separable";

    /// <summary>Plan mode: the plan.</summary>
    public SlimPlan? Plan { get; }

    /// <summary>Substring of the node names selected.</summary>
    public string Scope { get; }

    /// <summary>E, the relative Frobenius error allowed per convolution weight.</summary>
    public double ErrorBudget { get; }


    /// <summary>A convolution and its factors.</summary>
    /// <param name="Conv">The Conv.</param>
    /// <param name="Depthwise">D[Ci·r, 1, k...].</param>
    /// <param name="Pointwise">P[Co, Ci·r, 1...].</param>
    /// <param name="Report">What the rewrite does (scope mode).</param>
    /// <param name="Planned">Plan mode: the planned factorisation (factors, bias, note and contract).</param>
    public sealed record Found(Node Conv, Tensor Depthwise, Tensor Pointwise, SeparableReport? Report, ConvFactorization? Planned = null);

    /// <inheritdoc/>
    public override string Id => PassId;

    /// <inheritdoc/>
    public override string RootOp => "Conv";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Conv"];

    /// <inheritdoc/>
    public override NumericContract Numerics => FactoredConv.Contract(Plan, ErrorBudget);

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        if (Plan is not null)
        {
            MatchResult<ConvFactorization> planned = FactoredConv.Match(Id, FactorizationMethod.Separable, root, graph.Shapes, Plan, Scope, ErrorBudget);
            return planned.Succeeded
                ? new Found(root, planned.Value.Factors.First, planned.Value.Factors.Second, null, planned.Value)
                : MatchResult.Fail(planned.FailureReason!);
        }
        if (!NodeNaming.Matches(root, Scope))
        {
            return MatchResult.Fail($"outside the scope '{Scope}' (neither its name, an output name nor a weight name contains it)");
        }
        if (root.GetInt("group", 1) != 1)
        {
            return MatchResult.Fail("group ≠ 1");
        }
        if (Constants.Of(root.Input(1)) is not { DataType: DataType.Float, Dims.Length: >= 3 } w)
        {
            return MatchResult.Fail("the weight is not a constant float tensor");
        }
        long kernel = w.Dims.Skip(2).Aggregate(1L, (a, b) => a * b);
        if (kernel <= 1)
        {
            return MatchResult.Fail("a 1×1 kernel has nothing to separate");
        }
        if (root.Input(2) is { } b && Patterns.ConstFloats(b) is null)
        {
            return MatchResult.Fail("the bias is not constant");
        }
        return Factor(root, w, kernel, graph.Shapes);
    }

    private Found Factor(Node conv, Tensor w, long kernel, ShapeInferenceResult shapes)
    {
        int co = (int)w.Dims[0], ci = (int)w.Dims[1], k2 = (int)kernel;
        int full = Math.Min(co, k2);
        ReadOnlySpan<float> wd = w.AsSpan<float>();
        var us = new Matrix<double>[ci];
        var sigmas = new double[ci][];
        var vts = new Matrix<double>[ci];
        double total = 0;
        for (int c = 0; c < ci; c++)
        {
            var a = Matrix<double>.Build.Dense(co, k2);
            for (int o = 0; o < co; o++)
            {
                for (int t = 0; t < k2; t++)
                {
                    double v = wd[(o * ci + c) * k2 + t];
                    a[o, t] = v;
                    total += v * v;
                }
            }
            var svd = a.Svd(computeVectors: true);
            us[c] = svd.U;
            sigmas[c] = svd.S.ToArray();
            vts[c] = svd.VT;
        }
        int rank = full;
        for (int r = 1; r <= full; r++)
        {
            double tail = 0;
            foreach (double[] s in sigmas)
            {
                for (int j = r; j < s.Length; j++)
                {
                    tail += s[j] * s[j];
                }
            }
            if (total == 0 || Math.Sqrt(tail / total) <= ErrorBudget)
            {
                rank = r;
                break;
            }
        }
        var depthwise = new float[ci * rank * k2];
        var pointwise = new float[co * ci * rank];
        for (int c = 0; c < ci; c++)
        {
            for (int j = 0; j < rank; j++)
            {
                double root = Math.Sqrt(sigmas[c][j]);
                for (int t = 0; t < k2; t++)
                {
                    depthwise[(c * rank + j) * k2 + t] = (float)(root * vts[c][j, t]);
                }
                for (int o = 0; o < co; o++)
                {
                    pointwise[o * ci * rank + c * rank + j] = (float)(root * us[c][o, j]);
                }
            }
        }
        double error = ReconstructionError(wd, depthwise, pointwise, co, ci, k2, rank, total);
        long[] spatialOnes = [.. Enumerable.Repeat(1L, w.Dims.Length - 2)];
        long? outputPixels = ConvWindow.TryRead(conv, shapes).Window?.ConvOutputSpatial(shapes, conv) is { } yd ? yd.Aggregate(1L, (a, b) => a * b) : null;
        long bias = conv.Input(2) is null ? 0 : co;
        var report = new SeparableReport(conv.Name, rank, full, error,
            outputPixels * co * ci * k2,
            outputPixels * ((long)ci * rank * k2 + (long)co * ci * rank),
            (long)co * ci * k2 + bias,
            (long)ci * rank * k2 + (long)co * ci * rank + bias);
        return new Found(conv,
            Tensor.Create<float>([ci * rank, 1, .. w.Dims.Skip(2)], depthwise),
            Tensor.Create<float>([co, ci * rank, .. spatialOnes], pointwise),
            report);
    }

    /// <summary>‖W − Ŵ‖_F / ‖W‖_F with Ŵ rebuilt from the float factors (double accumulation).</summary>
    private static double ReconstructionError(ReadOnlySpan<float> w, float[] d, float[] p, int co, int ci, int k2, int rank, double total)
    {
        double err = 0;
        for (int o = 0; o < co; o++)
        {
            for (int c = 0; c < ci; c++)
            {
                for (int t = 0; t < k2; t++)
                {
                    double s = 0;
                    for (int j = 0; j < rank; j++)
                    {
                        s += (double)p[o * ci * rank + c * rank + j] * d[(c * rank + j) * k2 + t];
                    }
                    double diff = w[(o * ci + c) * k2 + t] - s;
                    err += diff * diff;
                }
            }
        }
        return total == 0 ? 0 : Math.Sqrt(err / total);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Node conv = match.Conv;
        if (match.Planned is { } planned)
        {
            FactoredConv.Rewrite(rewriter, planned,
                ConvWindow.With(conv, [Attr.Int("group", planned.Layer.InputChannels), Attr.Ints("kernel_shape", [planned.Layer.KernelHeight, planned.Layer.KernelWidth])]),
                [Attr.Ints("kernel_shape", [1, 1])]);
            return;
        }
        Value x = conv.Inputs[0]!;
        long ci = match.Depthwise.Dims[0] / match.Report!.Rank;
        Value d = rewriter.CreateInitializer("depthwise_weight", match.Depthwise);
        Value p = rewriter.CreateInitializer("pointwise_weight", match.Pointwise);
        List<AttributeValue> dwAttrs = ConvWindow.With(conv, [Attr.Int("group", ci)]);
        Node dw = rewriter.CreateNode("Conv", [x, d], "depthwise", attributes: dwAttrs, derivedFrom: [x], placeAfter: conv);
        Node pw = rewriter.CreateNode("Conv", [dw.Outputs[0], p, .. conv.Inputs.Skip(2)], "pointwise",
            attributes: [Attr.Ints("kernel_shape", [.. match.Pointwise.Dims.Skip(2)])], derivedFrom: [x], placeAfter: conv);
        rewriter.Replace(conv.Outputs[0]!, pw.Outputs[0]!);
        rewriter.EraseIfUnused([conv]);
        rewriter.Note(match.Report);
    }
}
