using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Shared shape of the activation lowerings: one node in, one of several small expressions (its
/// <see cref="Forms"/>) out, chosen for the target.
/// </summary>
/// <remarks>
/// <para>With a <see cref="Target"/>, a node is lowered only when the target refuses it as it is, and into
/// the first form, in the order of <see cref="Forms"/>, whose every created node the target accepts: each
/// candidate is built in a scratch graph and checked against the profile's constraints
/// (<see cref="ProfileChecker.CheckCandidate"/>), so a Clip's bounds, a rank or an opset count, not just
/// the operator's name. When no form is accepted the node is left alone and the reason lists every form
/// with what refused it. Without a target the first form whose preconditions hold is used.</para>
/// <para>Forms are ordered exact first (bit-identical to the root operator in ONNX Runtime), then by node
/// count. The tensor map records the chosen form's own contract; <see cref="Numerics"/> is the loosest
/// contract among the forms the target could use. Each choice is reported as a <see cref="LoweringChoice"/>
/// note. The replaced output keeps its name.</para>
/// </remarks>
public abstract class LowerActivation : RewritePattern<LowerActivation.Choice>
{
    private readonly Lazy<IReadOnlyList<LoweringForm>> _forms;
    private readonly Lazy<IReadOnlyList<string>> _ops;
    private readonly Lazy<NumericContract> _numerics;

    /// <summary>Creates the lowering for <paramref name="target"/> (null: no target, use the first applicable form).</summary>
    protected LowerActivation(TargetProfile? target)
    {
        Target = target;
        _forms = new(CreateForms);
        _ops = new(() => [.. Forms.SelectMany(f => f.Ops).Distinct(StringComparer.Ordinal)]);
        _numerics = new(() =>
        {
            var usable = Forms.Where(f => target is null || f.Ops.All(op => target.Find("", op) is not null)).ToList();
            return LoweringForm.Loosest((usable.Count > 0 ? usable : Forms).Select(f => f.Numerics));
        });
    }

    /// <summary>The node the lowering chose a form for.</summary>
    /// <param name="Root">The node.</param>
    /// <param name="Form">The form to build.</param>
    /// <param name="PassedOver">The earlier forms and what refused each.</param>
    public sealed record Choice(Node Root, LoweringForm Form, IReadOnlyList<string> PassedOver);

    /// <summary>The target whose constraints choose the form, or null.</summary>
    public TargetProfile? Target { get; }

    /// <summary>The forms, in order of preference.</summary>
    public IReadOnlyList<LoweringForm> Forms => _forms.Value;

    /// <inheritdoc/>
    /// <remarks>The union of the forms' operators.</remarks>
    public override IReadOnlyList<string> GeneratedOps => _ops.Value;

    /// <inheritdoc/>
    /// <remarks>The loosest contract among the forms whose operators the target lists (each rewrite records its own form's).</remarks>
    public override NumericContract Numerics => _numerics.Value;

    /// <summary>Creates the forms, in order of preference (called once).</summary>
    protected abstract IReadOnlyList<LoweringForm> CreateForms();

    /// <summary>Extra preconditions shared by every form; a reason when they fail.</summary>
    protected virtual string? Check(IReadOnlyGraph graph, Node root) => null;

    /// <inheritdoc/>
    protected sealed override MatchResult<Choice> Match(IReadOnlyGraph graph, Node root)
    {
        if (root.Input(0) is null || root.Output(0) is not { } y)
        {
            return MatchResult.Fail($"{RootOp} without input or output");
        }
        if (y.Uses.Any(u => u.IsImplicit))
        {
            return MatchResult.Fail($"'{y.Name}' is captured by a subgraph");
        }
        if (Patterns.LegacyBroadcastReason(graph) is { } legacy)
        {
            return MatchResult.Fail(legacy);
        }
        if (Check(graph, root) is { } reason)
        {
            return MatchResult.Fail(reason);
        }
        if (Target is { } accepting && ProfileChecker.CheckNode(root, accepting, graph.Shapes).Supported)
        {
            return MatchResult.Fail($"{accepting.Name} accepts this {root.OpType} as it is");
        }
        var passedOver = new List<string>();
        foreach (LoweringForm form in Forms)
        {
            if (form.Precondition?.Invoke(graph, root) is { } why)
            {
                passedOver.Add($"{form.Name}: {why}");
                continue;
            }
            if (Target is not { } target)
            {
                return new Choice(root, form, passedOver);
            }
            CandidateVerdict verdict = ProfileChecker.CheckCandidate(graph, root, target, (r, n) => form.Build(r, n), Id, form.Ops);
            if (verdict.Accepted)
            {
                return new Choice(root, form, passedOver);
            }
            passedOver.Add($"{form.Name}: {verdict.Describe()}");
        }
        string which = Target is null ? "applies" : $"is accepted by {Target.Name}";
        return MatchResult.Fail($"no form of {RootOp} {which}. {string.Join(" | ", passedOver)}");
    }

    /// <inheritdoc/>
    protected sealed override void Rewrite(GraphRewriter rewriter, Choice match)
    {
        Node root = match.Root;
        Value result = match.Form.Build(rewriter, root);
        // The tensor map records what the chosen form promises, not the loosest form of the pass.
        rewriter.Replace(root.Outputs[0]!, result, match.Form.Numerics);
        rewriter.EraseIfUnused([root]);
        rewriter.Note(new LoweringChoice(root.Name, match.Form.Name, match.Form.Numerics, match.PassedOver));
    }

    /// <summary>Why Min/Max cannot take a scalar bound in <paramref name="graph"/> (they broadcast from opset 8), or null.</summary>
    protected static string? MinMaxBroadcastReason(IReadOnlyGraph graph, Node root) =>
        (graph.OpsetVersion("") ?? 13) < 8 ? "Min/Max broadcast a scalar only from opset 8" : null;

    /// <summary>A float scalar initializer.</summary>
    protected static Value Scalar(GraphRewriter rewriter, string role, float v) => rewriter.CreateInitializer(role, Tensor.Create<float>([], [v]));

    /// <summary>Clip(x, lo, hi) in the form the graph's opset wants (inputs from 11, attributes before).</summary>
    protected static Value Clip(GraphRewriter rewriter, Node anchor, Value x, float lo, float hi, string role)
    {
        if ((rewriter.Graph.OpsetVersion("") ?? 13) >= 11)
        {
            return rewriter.CreateNode("Clip", [x, Scalar(rewriter, role + "_min", lo), Scalar(rewriter, role + "_max", hi)], role, placeAfter: anchor).Outputs[0]!;
        }
        return rewriter.CreateNode("Clip", [x], role, attributes: [Attr.Float("min", lo), Attr.Float("max", hi)], placeAfter: anchor).Outputs[0]!;
    }

    /// <summary>A unary or binary node.</summary>
    protected static Value Op(GraphRewriter rewriter, Node anchor, string op, Value a, Value? b, string role) =>
        rewriter.CreateNode(op, b is null ? [a] : [a, b], role, placeAfter: anchor).Outputs[0]!;

    /// <summary>min(max(y, 0), 1) in one of the forms below, for a gate y: Clip(0, 1), Relu then Min, or Max then Min.</summary>
    protected static Value UnitClamp(GraphRewriter rewriter, Node anchor, Value y, UnitClampForm form) => form switch
    {
        UnitClampForm.Clip => Clip(rewriter, anchor, y, 0f, 1f, "clip"),
        UnitClampForm.ReluMin => Op(rewriter, anchor, "Min", Op(rewriter, anchor, "Relu", y, null, "relu"), Scalar(rewriter, "one", 1f), "min"),
        _ => Op(rewriter, anchor, "Min", Op(rewriter, anchor, "Max", y, Scalar(rewriter, "zero", 0f), "max"), Scalar(rewriter, "one", 1f), "min"),
    };

    /// <summary>The exact ways to clamp to [0, 1] (<see cref="UnitClamp"/>).</summary>
    protected enum UnitClampForm
    {
        /// <summary>Clip(y, 0, 1).</summary>
        Clip,

        /// <summary>Min(Relu(y), 1).</summary>
        ReluMin,

        /// <summary>Min(Max(y, 0), 1).</summary>
        MaxMin,
    }
}
