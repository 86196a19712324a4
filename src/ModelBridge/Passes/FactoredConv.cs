using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;
using ModelBridge.Slimming;

namespace ModelBridge.Passes;

/// <summary>What a factorisation pass did to one convolution.</summary>
/// <param name="Node">The original Conv's name.</param>
/// <param name="Method">The factorisation.</param>
/// <param name="Rank">r.</param>
/// <param name="FullRank">The rank that reproduces the weight exactly.</param>
/// <param name="Fit">How the factors were fitted.</param>
/// <param name="WeightError">‖W − W'‖_F / ‖W‖_F of the float factors written.</param>
/// <param name="MacsBefore">MACs of this node before (null when its shapes are unknown).</param>
/// <param name="MacsAfter">MACs of the two convs after.</param>
/// <param name="ParametersBefore">Weight and bias elements before.</param>
/// <param name="ParametersAfter">Weight and bias elements after.</param>
public sealed record FactorizationNote(string Node, FactorizationMethod Method, int Rank, int FullRank, FitKind Fit, double WeightError,
    long? MacsBefore, long? MacsAfter, long ParametersBefore, long ParametersAfter) : PassNote(Node);

/// <summary>A convolution a factorisation pass will rewrite, and how.</summary>
/// <param name="Conv">The Conv.</param>
/// <param name="Layer">Its geometry.</param>
/// <param name="Factors">The factors to write.</param>
/// <param name="Note">What the rewrite does.</param>
/// <param name="Contract">The contract recorded on the output (a plan's per-layer one), or null for the pass's.</param>
public sealed record ConvFactorization(Node Conv, ConvLayer Layer, ConvFactors Factors, FactorizationNote Note, NumericContract? Contract);

/// <summary>
/// The matching shared by the factorisation passes: which convolutions qualify, and their factors, from a
/// <see cref="SlimPlan"/> or fitted to the weights within an error budget.
/// </summary>
internal static class FactoredConv
{
    /// <summary>
    /// Checks <paramref name="root"/> for a factorisation pass and computes its factors: the plan's for the
    /// conv's weight (plan mode), or a weight fit at the smallest rank within <paramref name="errorBudget"/>
    /// (scope mode).
    /// </summary>
    public static MatchResult<ConvFactorization> Match(string passId, FactorizationMethod method, Node root, ShapeInferenceResult shapes,
        SlimPlan? plan, string scope, double errorBudget)
    {
        Value? source = Constants.WeightSource(root.Input(1));
        ConvFactors? planned = null;
        if (plan is not null)
        {
            if (source is null || !plan.Layers.TryGetValue(source.Name, out planned) || planned.Method != method)
            {
                return MatchResult.Fail($"its weight is not planned for {method.ToString().ToLowerInvariant()} factorisation");
            }
        }
        else
        {
            if (!NodeNaming.Matches(root, scope))
            {
                return MatchResult.Fail($"outside the scope '{scope}' (neither its name, an output name nor a weight name contains it)");
            }
            if (source is not null && source.Name.Contains($"/{passId}/", StringComparison.Ordinal))
            {
                return MatchResult.Fail($"its weight was written by {passId} (already factored)");
            }
        }
        if (root.GetInt("group", 1) != 1)
        {
            return MatchResult.Fail("group ≠ 1");
        }
        if (Constants.Of(root.Input(1)) is not { DataType: DataType.Float, Dims.Length: 4 } w)
        {
            return MatchResult.Fail("the weight is not a constant 4-D float tensor (only 2-D convolutions are factored)");
        }
        if (method != FactorizationMethod.Channel && w.Dims[2] * w.Dims[3] <= 1)
        {
            return MatchResult.Fail("a 1×1 kernel has nothing to separate");
        }
        if (root.Input(2) is { } b && Patterns.ConstFloats(b) is null)
        {
            return MatchResult.Fail("the bias is not constant");
        }
        if (root.GetString("auto_pad", "NOTSET") is not ("NOTSET" or "VALID"))
        {
            return MatchResult.Fail("auto_pad is SAME_*; lower-auto-pad makes the pads explicit first");
        }
        (ConvLayer? layer, string? reason) = ConvLayer.ForNode(root, shapes);
        if (layer is null)
        {
            return MatchResult.Fail(reason!);
        }
        ConvFactors factors;
        if (planned is not null)
        {
            if (PlanMismatch(planned, layer) is { } problem)
            {
                return MatchResult.Fail(problem);
            }
            factors = planned;
        }
        else
        {
            var fitter = new ConvFitter(layer, w, Constants.Of(root.Input(2)));
            factors = fitter.Fit(method, fitter.RankForWeightError(method, errorBudget));
        }
        var check = new ConvFitter(layer, w, null);
        long? before = layer.Sites.Count == 0 ? null : layer.OriginalMacs;
        long? after = layer.Sites.Count == 0 ? null : layer.Macs(method, factors.Rank);
        var note = new FactorizationNote(root.Name, method, factors.Rank, layer.FullRank(method), factors.Fit, check.WeightError(factors),
            before, after, layer.OriginalParameters, layer.Parameters(method, factors.Rank));
        NumericContract? contract = plan is null ? null : plan.ContractFor(root.Output(0)!.Name);
        return new ConvFactorization(root, layer, factors, note, contract);
    }

    private static string? PlanMismatch(ConvFactors f, ConvLayer layer)
    {
        long co = layer.OutputChannels, ci = layer.InputChannels, kh = layer.KernelHeight, kw = layer.KernelWidth, r = f.Rank;
        long[] first = f.Method switch
        {
            FactorizationMethod.Channel => [r, ci, kh, kw],
            FactorizationMethod.Spatial => [r, ci, kh, 1],
            _ => [ci * r, 1, kh, kw],
        };
        long[] second = f.Method switch
        {
            FactorizationMethod.Channel => [co, r, 1, 1],
            FactorizationMethod.Spatial => [co, r, 1, kw],
            _ => [co, ci * r, 1, 1],
        };
        if (!f.First.Dims.SequenceEqual(first) || !f.Second.Dims.SequenceEqual(second) || (f.Bias is { } b && b.ElementCount != co))
        {
            return $"the planned factors ({f.First}, {f.Second}) do not fit the weight [{co}, {ci}, {kh}, {kw}]";
        }
        return null;
    }

    /// <summary>Writes the factors' initializers, the first conv and the second conv, and replaces the original's output.</summary>
    public static void Rewrite(GraphRewriter rewriter, ConvFactorization match, IEnumerable<AttributeValue> firstAttributes, IEnumerable<AttributeValue> secondAttributes)
    {
        Node conv = match.Conv;
        Value x = conv.Inputs[0]!;
        Value first = rewriter.CreateInitializer("first_weight", match.Factors.First);
        Value second = rewriter.CreateInitializer("second_weight", match.Factors.Second);
        Value? bias = match.Factors.Bias is { } b ? rewriter.CreateInitializer("bias", b) : conv.Input(2);
        Node a = rewriter.CreateNode("Conv", [x, first], "first", attributes: firstAttributes, derivedFrom: [x], placeAfter: conv);
        Node c = rewriter.CreateNode("Conv", bias is null ? [a.Outputs[0], second] : [a.Outputs[0], second, bias], "second",
            attributes: secondAttributes, derivedFrom: [x], placeAfter: a);
        rewriter.Replace(conv.Outputs[0]!, c.Outputs[0]!, match.Contract ?? rewriter.Contract);
        rewriter.EraseIfUnused([conv]);
        rewriter.Note(match.Note);
    }

    /// <summary>The numeric contract of a factorisation pass: the plan's bound, or max(E, 1e-5) relative and absolute.</summary>
    public static NumericContract Contract(SlimPlan? plan, double errorBudget) =>
        plan?.Bound() ?? NumericContract.Approximate(rtol: Math.Max(errorBudget, 1e-5), atol: Math.Max(errorBudget, 1e-5));
}

/// <summary>
/// A pass that factors a convolution into two (<see cref="DecomposeConvChannels"/>,
/// <see cref="DecomposeConvSpatial"/>): scope mode fits the weights within an error budget, plan mode
/// writes a <see cref="SlimPlan"/>'s factors. Subclasses give the method and the two convs' attributes.
/// </summary>
public abstract class FactoredConvPass : RewritePattern<ConvFactorization>
{
    /// <summary>Scope mode: factors the convs <paramref name="scope"/> addresses to weight error <paramref name="errorBudget"/>.</summary>
    /// <param name="scope">Substring of a node, output or weight name (empty for all).</param>
    /// <param name="errorBudget">E: the largest relative Frobenius weight error (0 for full rank).</param>
    private protected FactoredConvPass(string scope, double errorBudget)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (!(errorBudget >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(errorBudget), errorBudget, "The error budget must be a number >= 0.");
        }
        Scope = scope;
        ErrorBudget = errorBudget;
    }

    /// <summary>Plan mode: applies the plan's factorisations of this pass's method.</summary>
    private protected FactoredConvPass(SlimPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Plan = plan;
        Scope = string.Empty;
    }

    /// <summary>Scope mode: the substring selecting convs.</summary>
    public string Scope { get; }

    /// <summary>Scope mode: E.</summary>
    public double ErrorBudget { get; }

    /// <summary>Plan mode: the plan.</summary>
    public SlimPlan? Plan { get; }

    /// <summary>The factorisation this pass writes.</summary>
    public abstract FactorizationMethod Method { get; }

    /// <inheritdoc/>
    public sealed override string RootOp => "Conv";

    /// <inheritdoc/>
    public sealed override IReadOnlyList<string> GeneratedOps => ["Conv"];

    /// <inheritdoc/>
    public sealed override NumericContract Numerics => FactoredConv.Contract(Plan, ErrorBudget);

    /// <inheritdoc/>
    protected sealed override MatchResult<ConvFactorization> Match(IReadOnlyGraph graph, Node root) =>
        FactoredConv.Match(Id, Method, root, graph.Shapes, Plan, Scope, ErrorBudget);

    /// <inheritdoc/>
    protected sealed override void Rewrite(GraphRewriter rewriter, ConvFactorization match)
    {
        (IEnumerable<AttributeValue> first, IEnumerable<AttributeValue> second) = Attributes(match);
        FactoredConv.Rewrite(rewriter, match, first, second);
    }

    /// <summary>The attributes of the first and the second conv that replace <paramref name="match"/>'s.</summary>
    private protected abstract (IEnumerable<AttributeValue> First, IEnumerable<AttributeValue> Second) Attributes(ConvFactorization match);
}
