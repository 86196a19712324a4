using ModelBridge.Ir;
using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Surgery;

namespace ModelBridge.Rewriting;

/// <remarks>
/// This file is the one place where pass lists are built: canonicalisation, the lowering a profile
/// asks for (<see cref="ForProfile"/>), convolution lowering, and output surgery. Every list is
/// explicit and ordered, with no reflection.
/// </remarks>
public sealed partial class Pipeline
{
    /// <summary>
    /// Canonicalisation: names unnamed nodes, takes initializers off the input list (the IR &lt; 4 habit),
    /// removes no-ops, turns constants into initializers, folds constant and shape
    /// arithmetic (with <paramref name="dims"/> pinned), fuses every exported GroupNorm form into
    /// GroupNormalization, folds BatchNorm into convolutions, and cleans up.
    /// </summary>
    public static Pipeline Canonical(IReadOnlyDictionary<string, long>? dims = null) => new(CanonicalPasses(dims, keepInitializerInputs: false));

    /// <summary>
    /// The conversion for <paramref name="profile"/>, as two pipelines run one after the other with one
    /// tensor map: canonicalise, then lower for the target. Fusion and decomposition live in different
    /// phases so they can never undo each other.
    /// </summary>
    /// <remarks>
    /// Lowering, chosen from the profile: the convolution lowering its Conv/pool constraints need
    /// (<see cref="ConvLoweringFor"/>) with the ConvTranspose lowering where it lacks ConvTranspose
    /// (<see cref="ConvTransposeLoweringFor"/>), GroupNorm decomposition where it lacks GroupNormalization (into
    /// InstanceNormalization where it has it, else the moments form), standalone BatchNorm to Mul/Add
    /// where it lacks BatchNormalization, target-aware lowerings of activations and Clips it refuses
    /// (<see cref="TargetLowerings"/>: each is registered when the profile lacks its root op or constrains
    /// it), Softmax in a form it runs (<see cref="SoftmaxLoweringFor"/>), the caller's additional passes,
    /// then cleanup.
    /// </remarks>
    public static IReadOnlyList<Pipeline> ForProfile(TargetProfile profile, ConvertOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        options ??= new ConvertOptions();
        bool Has(string op) => profile.Find("", op) is not null;
        var lowering = new List<Pass>(ConvLoweringPasses(ConvLoweringFor(profile, options)));
        // ConvTranspose lowering follows lower-auto-pad (pads made explicit) and precedes the Conv
        // lowerings, which then see the Convs it creates.
        lowering.InsertRange(lowering.FindIndex(p => p is LowerAutoPad) + 1, ConvTransposeLoweringFor(profile));
        if (!Has("GroupNormalization"))
        {
            lowering.Add(new DecomposeGroupNorm(Has("InstanceNormalization") ? GroupNormDecomposition.InstanceNorm : GroupNormDecomposition.Moments));
        }
        if (!Has("BatchNormalization"))
        {
            lowering.Add(new LowerBatchNormToMulAdd());
        }
        foreach (Pass pass in TargetLowerings(profile))
        {
            // Each fires only on nodes the target refuses; skip those whose root op it takes without conditions.
            if (pass is not LowerActivation lower || MayRefuse(profile, lower.RootOp))
            {
                lowering.Add(pass);
            }
        }
        if (SoftmaxLoweringFor(profile) is { } softmax)
        {
            lowering.Add(softmax);
        }
        lowering.AddRange(options.AdditionalPasses);
        lowering.Add(new EliminateDeadNodes());
        lowering.Add(new DeduplicateInitializers());
        return [new Pipeline(CanonicalPasses(options.Dims, options.KeepInitializerInputs)), new Pipeline(lowering)];
    }

    /// <summary>
    /// The ConvTranspose lowering for a target without ConvTranspose that has Conv: kernel == stride to a
    /// 1×1 Conv and DepthToSpace (exact), then every other 2-D form to a sub-pixel Conv, with the
    /// pixel-shuffle forms and the Slice the profile accepts. Empty when the target has ConvTranspose.
    /// </summary>
    public static IReadOnlyList<Pass> ConvTransposeLoweringFor(TargetProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (profile.Find("", "ConvTranspose") is not null || profile.Find("", "Conv") is null)
        {
            return [];
        }
        PixelShuffleForms forms = PixelShuffleFormsFor(profile);
        return [new LowerConvTransposeToDepthToSpace(forms), new LowerConvTransposeToSubPixelConv(forms, slice: profile.Find("", "Slice") is not null)];
    }

    /// <summary>The pixel-shuffle forms a profile accepts: its DepthToSpace modes (DCR first) on 4-D input, and rank-4 Reshape with Transpose.</summary>
    public static PixelShuffleForms PixelShuffleFormsFor(TargetProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        string[] modes = [];
        if (profile.Find("", "DepthToSpace") is { } d2s && (d2s.InputRanks?.Contains(4) ?? d2s.InputRank?.Contains(4) ?? true))
        {
            IReadOnlyList<string>? allowed = d2s.Attributes?.GetValueOrDefault("mode");
            modes = [.. new[] { "DCR", "CRD" }.Where(m => allowed?.Contains(m) ?? true)];
        }
        OpConstraints? reshape = profile.Find("", "Reshape");
        bool reshapeTranspose = reshape is not null && profile.Find("", "Transpose") is not null
            && (reshape.InputRanks?.Contains(4) ?? reshape.InputRank?.Contains(4) ?? true);
        return new PixelShuffleForms { DepthToSpaceModes = modes, ReshapeTranspose = reshapeTranspose };
    }

    /// <summary>
    /// The Softmax lowering a profile needs: null when it runs Softmax of every rank and axis (or has no
    /// Softmax to lower into); otherwise <see cref="LowerSoftmaxToSupportedForm"/> with its ranks, its
    /// last-axis rule, and the Reshape/Transpose it has. LogSoftmax is included when its constraints are
    /// the same.
    /// </summary>
    public static Pass? SoftmaxLoweringFor(TargetProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        SoftmaxForms? forms = SoftmaxFormsFor(profile, profile.Find("", "Softmax"));
        if (forms is null)
        {
            return null;
        }
        SoftmaxForms? log = SoftmaxFormsFor(profile, profile.Find("", "LogSoftmax"));
        bool sameForLog = log is not null && log.LastAxisOnly == forms.LastAxisOnly
            && (log.Ranks ?? []).SequenceEqual(forms.Ranks ?? []) && (log.Ranks is null) == (forms.Ranks is null);
        return new LowerSoftmaxToSupportedForm(forms, sameForLog ? ["Softmax", "LogSoftmax"] : ["Softmax"]);
    }

    private static SoftmaxForms? SoftmaxFormsFor(TargetProfile profile, OpConstraints? c)
    {
        if (c is null)
        {
            return null;
        }
        IReadOnlyList<int>? ranks = c.InputRanks ?? (c.InputRank is { } r ? [.. Enumerable.Range(1, 8).Where(k => r.Contains(k))] : null);
        bool lastOnly = c.Axes is { Count: > 0 } axes && axes.All(a => a is "last" or "-1");
        if (ranks is null && !lastOnly)
        {
            return null;
        }
        OpConstraints? reshape = profile.Find("", "Reshape");
        return new SoftmaxForms
        {
            Ranks = ranks,
            LastAxisOnly = lastOnly,
            Reshape = reshape is not null,
            Transpose = profile.Find("", "Transpose") is not null,
            MaxReshapeRank = reshape?.InputRank?.Max is long max ? (int)max : reshape?.InputRanks?.Max(),
        };
    }

    /// <summary>
    /// Every target-aware lowering, configured for <paramref name="profile"/>, in the order
    /// <see cref="ForProfile"/> runs them: each lowers only nodes the target refuses, into the first of its forms
    /// whose every node the target accepts (<see cref="Profiles.ProfileChecker.CheckCandidate"/>), and otherwise
    /// leaves the node and says why. A new lowering that creates nodes for a target joins this list (the
    /// lowering × profile test runs every entry against every built-in profile).
    /// </summary>
    public static IReadOnlyList<Pass> TargetLowerings(TargetProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        return
        [
            new LowerHardSwish(profile),
            new LowerHardSigmoid(profile),
            new LowerLeakyRelu(profile),
            new LowerPRelu(profile),
            new LowerGelu(profile),
            new LowerClip(profile),
        ];
    }

    /// <summary>True when the profile lacks <paramref name="op"/> or constrains it beyond its defaults (so some nodes may be refused).</summary>
    private static bool MayRefuse(TargetProfile profile, string op) =>
        !profile.Ops.TryGetValue(op, out OpConstraints? own) || own with { Note = null } != new OpConstraints();

    /// <summary>What the profile's Conv/pool constraints ask of the convolution lowering.</summary>
    public static ConvLoweringOptions ConvLoweringFor(TargetProfile profile, ConvertOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        OpConstraints? conv = profile.Find("", "Conv");
        OpConstraints? maxPool = profile.Find("", "MaxPool");
        GroupPolicy policy = conv?.GroupPolicy ?? GroupPolicy.Any;
        bool ceilRefused = maxPool?.Attributes is { } attrs && attrs.TryGetValue("ceil_mode", out var allowed) && !allowed.Contains("1");
        return new ConvLoweringOptions
        {
            // Explicit pads are accepted everywhere; lowering auto_pad is exact, so always do it.
            NoAutoPad = true,
            LowerGroupedConv = policy != GroupPolicy.Any,
            DepthwiseMultiplierOne = policy is GroupPolicy.Standard or GroupPolicy.Depthwise,
            RequireSymmetricPads = conv?.SymmetricPads == true,
            NoCeilMode = ceilRefused,
            GlobalPool = profile.Find("", "GlobalAveragePool") is null && profile.Find("", "ReduceMean") is not null ? GlobalPoolForm.Reduce : null,
            SeparableScope = options?.SeparableScope,
            ErrorBudget = options?.ErrorBudget ?? 0,
            Slimming = options?.Slimming,
        };
    }

    /// <summary>
    /// The ordered convolution-lowering passes for <paramref name="options"/>. No cleanup pass is
    /// included, so the list can follow the canonical passes without duplicate ids.
    /// </summary>
    public static IReadOnlyList<Pass> ConvLoweringPasses(ConvLoweringOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var passes = new List<Pass>();
        if (options.NoAutoPad || options.RequireSymmetricPads || options.NoCeilMode)
        {
            passes.Add(new LowerAutoPad());
        }
        if (options.NoCeilMode)
        {
            passes.Add(new LowerCeilModePool());
        }
        if (options.FoldPads)
        {
            passes.Add(new FoldPadIntoConv(symmetricOnly: options.RequireSymmetricPads));
        }
        if (options.SeparableScope is not null && options.Slimming is not null)
        {
            throw new ArgumentException("A slimming plan and a separable scope cannot be combined: the plan chooses each conv's factorisation.", nameof(options));
        }
        if (options.SeparableScope is { } scope)
        {
            passes.Add(new LowerConvToSeparable(scope, options.ErrorBudget));
        }
        if (options.Slimming is { } plan)
        {
            passes.Add(new DecomposeConvChannels(plan));
            passes.Add(new DecomposeConvSpatial(plan));
            passes.Add(new LowerConvToSeparable(plan));
            passes.Add(new DeclareSlimmingBudget(plan));
        }
        if (options.LowerGroupedConv)
        {
            passes.Add(new LowerGroupedConv());
        }
        if (options.DepthwiseMultiplierOne)
        {
            if (options.DepthwiseMultiplierIntoPointwise)
            {
                passes.Add(new LowerDepthwiseMultiplier(intoPointwise: true));
            }
            passes.Add(new LowerDepthwiseMultiplier());
        }
        if (options.RequireSymmetricPads)
        {
            passes.Add(new SplitAsymmetricPads());
        }
        switch (options.Pointwise)
        {
            case PointwiseForm.Gemm:
                passes.Add(new LowerConv1x1ToGemm());
                break;
            case PointwiseForm.Conv:
                passes.Add(new LowerGemmToConv1x1());
                break;
        }
        switch (options.GlobalPool)
        {
            case GlobalPoolForm.Reduce:
                passes.Add(new LowerGlobalPool());
                break;
            case GlobalPoolForm.GlobalPool:
                passes.Add(new RaiseReduceToGlobalPool());
                break;
        }
        if (options.NoConvBias)
        {
            passes.Add(new SplitConvBias());
        }
        return passes;
    }

    /// <summary>
    /// The output-surgery pipeline for <paramref name="options"/>: <see cref="PruneOutputs"/>,
    /// <see cref="SliceHeadChannels"/>, <see cref="RenameOutputs"/>, <see cref="CanonicalizeValueNames"/>
    /// (only those the options ask for), then dead-node elimination when <paramref name="cleanup"/> is set.
    /// </summary>
    /// <remarks>
    /// The options are checked against the graph the passes will run on before any pass runs, so a
    /// misspelt output name or an out-of-range class id fails up front with the valid choices. The head
    /// geometry (anchors, classes) is resolved here, once, from the unsliced graph.
    /// </remarks>
    /// <param name="options">What to do.</param>
    /// <param name="graph">The graph the passes will run on (before surgery).</param>
    /// <param name="provenance">Its tensor map, when it has been rewritten already (names are then also matched as original names).</param>
    /// <param name="cleanup">End with <see cref="EliminateDeadNodes"/> (a conversion does; composing surgery into a longer pipeline need not).</param>
    /// <exception cref="ArgumentException">The options name outputs, levels, kinds or ids the graph does not have.</exception>
    /// <exception cref="Errors.UnsupportedOperatorException">Slicing was asked for and the heads' channels do not split into anchors × values.</exception>
    public static Pipeline ForSurgery(OutputSurgeryOptions options, Graph graph, ProvenanceMap? provenance = null, bool cleanup = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(graph);
        OutputSurgery.Validate(options, graph, provenance);
        DetectorHeads heads = options.Heads;
        var passes = new List<Pass>();
        if (options.DropOutputs.Count > 0 || options.DropLevels.Count > 0)
        {
            var prune = new PruneOutputs(options.DropOutputs, options.DropLevels, heads);
            if (prune.Selected(graph, provenance).Count == graph.Outputs.Count)
            {
                throw new ArgumentException($"The options drop every output of graph '{graph.Name}'.", nameof(options));
            }
            passes.Add(prune);
        }
        if (options.KeepClasses is not null || options.KeepAnchors is not null)
        {
            HeadGeometry geometry = heads.ResolveGeometry(graph, provenance);
            passes.Add(new SliceHeadChannels(geometry, options.Layout, options.KeepClasses, options.KeepAnchors, heads));
        }
        if (options.RenamePattern is not null || options.RenameMap is not null || options.InputRenamePattern is not null || options.Order.Count > 0)
        {
            passes.Add(new RenameOutputs(options.RenamePattern, options.RenameMap, options.Order, options.InputRenamePattern, heads));
        }
        if (options.CanonicalizeNames)
        {
            passes.Add(new CanonicalizeValueNames());
        }
        if (cleanup)
        {
            passes.Add(new EliminateDeadNodes());
        }
        return new Pipeline(passes);
    }

    private static IReadOnlyList<Pass> CanonicalPasses(IReadOnlyDictionary<string, long>? dims, bool keepInitializerInputs) =>
    [
        new NameUnnamedNodes(),
        .. keepInitializerInputs ? Array.Empty<Pass>() : [new RemoveInitializerInputs()],
        new EliminateIdentity(),
        new EliminateDropout(),
        new ConstantToInitializer(),
        new FoldConstants(),
        new FoldShapeArithmetic(dims),
        new FuseGroupNorm(),
        new FoldBatchNormIntoConv(),
        new EliminateDeadNodes(),
        new DeduplicateInitializers(),
    ];
}
