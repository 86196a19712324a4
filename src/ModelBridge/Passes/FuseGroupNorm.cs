using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Fuses the GroupNorm patterns that exporters emit into one <c>GroupNormalization</c> (opset-21
/// semantics: per-channel scale and bias).
/// <code>
/// Before (instance-norm form, PyTorch):
///   x → Reshape([0,G,-1]) → InstanceNormalization(ones[G], zeros[G], ε) → Reshape(Shape(x)) → Mul(w) → Add(b) → y
/// Before (moments form):
///   x → Reshape([N,G,-1]) → r;  d = r − ReduceMean(r);  y' = d / Sqrt(ReduceMean(d²) + ε) → Reshape(Shape(x)) → Mul(w) → Add(b) → y
/// After:
///   x → GroupNormalization(scale = w[C], bias = b[C], num_groups = G, epsilon = ε) → y
/// </code>
/// </summary>
/// <remarks>
/// Recognised variants: the restoring Reshape's shape from <c>Shape(x)</c> or a constant equal to
/// x's static shape; the first Reshape's shape <c>[0,G,-1]</c>, <c>[N,G,-1]</c> or <c>[N,G,C/G·H·W]</c>;
/// weights <c>[C,1,1]</c>, <c>[1,C,1,1]</c> or scalar-like (<c>affine=False</c>); Mul/Add with the
/// constant on either side; Mul only, or neither (scale 1, bias 0); <c>d²</c> as Pow(d,2) or Mul(d,d).
/// Constants must already be initializers (run <see cref="ConstantToInitializer"/> and
/// <see cref="EliminateIdentity"/> first). A Swish tail (Sigmoid·Mul) after the Add is left in
/// place: it reads the fused output. The InstanceNormalization's scale must be all ones and its
/// bias all zeros. The model's default opset is raised to 21 when lower (see
/// <see cref="UpgradeOpset"/>); the pass does not apply when that is impossible.
/// Formula: y[n,c] = (x[n,c] − μ[n,g(c)]) / √(σ²[n,g(c)] + ε) · w[c] + b[c], with μ, σ² over the
/// group's channels and spatial positions. Numerics: approximate (the fused kernel reduces in a
/// different order).
/// </remarks>
public sealed class FuseGroupNorm : RewritePattern<FuseGroupNorm.Found>
{
    /// <summary>The opset whose GroupNormalization has per-channel scale and bias.</summary>
    public const long RequiredOpset = 21;

    /// <summary>A recognised GroupNorm.</summary>
    /// <param name="Input">x.</param>
    /// <param name="Groups">G.</param>
    /// <param name="Epsilon">ε.</param>
    /// <param name="Scale">Per-channel scale.</param>
    /// <param name="Bias">Per-channel bias.</param>
    /// <param name="Output">The value the fused node replaces.</param>
    /// <param name="Nodes">Matched nodes, erased once unused.</param>
    public sealed record Found(Value Input, long Groups, float Epsilon, float[] Scale, float[] Bias, Value Output, IReadOnlyList<Node> Nodes);

    /// <inheritdoc/>
    public override string Id => "fuse-groupnorm";

    /// <inheritdoc/>
    public override string RootOp => "Reshape";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["GroupNormalization"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-4, atol: 1e-5);

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        var nodes = new List<Node> { root };
        Value? normalized = root.Input(0);
        Node? norm = normalized?.Producer;
        if (Patterns.SoleConsumer(normalized) != root || norm is null)
        {
            return MatchResult.Fail("the reshaped value is not a normalisation result with a single reader");
        }
        Value? grouped;
        float eps;
        if (norm.OpType == "InstanceNormalization" && norm.IsStandardDomain)
        {
            nodes.Add(norm);
            grouped = norm.Input(0);
            eps = norm.GetFloat("epsilon", 1e-5f);
            float[]? ones = Patterns.ConstFloats(norm.Input(1)), zeros = Patterns.ConstFloats(norm.Input(2));
            if (ones is null || !Patterns.AllEqual(ones, 1f))
            {
                return MatchResult.Fail($"InstanceNormalization '{norm.Name}' scale is not a constant of ones");
            }
            if (zeros is null || !Patterns.AllEqual(zeros, 0f))
            {
                return MatchResult.Fail($"InstanceNormalization '{norm.Name}' bias is not a constant of zeros");
            }
        }
        else if (norm.OpType == "Div" && norm.IsStandardDomain)
        {
            var (g, e, reason) = MatchMoments(norm, nodes);
            if (reason is not null)
            {
                return MatchResult.Fail(reason);
            }
            grouped = g;
            eps = e;
        }
        else
        {
            return MatchResult.Fail($"the reshaped value comes from {norm.OpType}, not InstanceNormalization or the moments Div");
        }
        Node? first = Patterns.ProducedBy(grouped, "Reshape");
        if (first is null || grouped!.Uses.Any(u => !nodes.Contains(u.Node)) || grouped.IsGraphOutput)
        {
            return MatchResult.Fail("the normalised value is not a Reshape output read only by the pattern");
        }
        nodes.Add(first);
        Value x = first.Inputs[0]!;
        long[]? groupShape = Patterns.ConstInts(first.Input(1));
        if (groupShape is not { Length: 3 })
        {
            return MatchResult.Fail("the grouping Reshape's shape is not a 3-element constant");
        }
        long groups = groupShape[1];
        if (groups <= 0)
        {
            return MatchResult.Fail($"group count {groups} is not positive");
        }
        // The restoring Reshape must give x its shape back.
        Value? restore = root.Input(1);
        if (Patterns.ProducedBy(restore, "Shape") is { } shapeNode)
        {
            if (shapeNode.Input(0) != x || shapeNode.HasAttribute("start") || shapeNode.HasAttribute("end"))
            {
                return MatchResult.Fail("the restoring Reshape reads the shape of another tensor");
            }
            if (restore!.Uses.Count == 1)
            {
                nodes.Add(shapeNode);
            }
        }
        else if (Patterns.ConstInts(restore) is not { } restoreShape || graph.Shapes.StaticDimsOf(x) is not { } xs || !restoreShape.SequenceEqual(xs))
        {
            return MatchResult.Fail("the restoring Reshape's shape is neither Shape(x) nor x's static shape");
        }
        int? rank = graph.Shapes.RankOf(x);
        long? channels = graph.Shapes.ShapeOf(x) is { Rank: >= 2 } s && s.Dims[1].Value is long c ? c : null;
        // Optional affine tail: Mul(w) then Add(b), constants on either side.
        Value output = root.Outputs[0]!;
        float[]? scale = null, bias = null;
        if (Patterns.SoleConsumer(output) is { OpType: "Mul", IsStandardDomain: true } mul && Patterns.OtherInput(mul, output) is { } wv)
        {
            (channels, rank) = Infer(channels, rank, wv);
            if (channels is long ch && rank is int rk && Patterns.PerChannel(wv, ch, rk) is { } w)
            {
                scale = w;
                nodes.Add(mul);
                output = mul.Outputs[0]!;
                if (Patterns.SoleConsumer(output) is { OpType: "Add", IsStandardDomain: true } add && Patterns.OtherInput(add, output) is { } bv
                    && Patterns.PerChannel(bv, ch, rk) is { } b)
                {
                    bias = b;
                    nodes.Add(add);
                    output = add.Outputs[0]!;
                }
            }
        }
        if (channels is not long cTotal || rank is not int r || r < 3)
        {
            return MatchResult.Fail("x's channel count or rank is unknown (run shape inference, or give per-channel weights)");
        }
        if (cTotal % groups != 0)
        {
            return MatchResult.Fail($"{cTotal} channels do not split into {groups} groups");
        }
        if (groupShape[0] != 0 && (graph.Shapes.StaticDimsOf(x) is not { } xDims || groupShape[0] != xDims[0]))
        {
            return MatchResult.Fail($"the grouping Reshape's first dim {groupShape[0]} is neither 0 nor the batch size");
        }
        if (groupShape[2] != -1 && (graph.Shapes.StaticDimsOf(x) is not { } xd || groupShape[2] != xd.Skip(1).Aggregate(1L, (a, b) => a * b) / groups))
        {
            return MatchResult.Fail($"the grouping Reshape's last dim {groupShape[2]} is neither -1 nor C/G·spatial");
        }
        if (graph.OpsetVersion("") is long opset && opset < RequiredOpset
            && UpgradeOpset.Obstacles(graph, RequiredOpset) is { Count: > 0 } obstacles)
        {
            return MatchResult.Fail($"GroupNormalization needs opset {RequiredOpset}: {obstacles[0]}");
        }
        scale ??= [.. Enumerable.Repeat(1f, (int)cTotal)];
        bias ??= new float[cTotal];
        return new Found(x, groups, eps, scale, bias, output, nodes);
    }

    private static (long? Channels, int? Rank) Infer(long? channels, int? rank, Value weight)
    {
        if (Constants.Of(weight) is not { } t || t.ElementCount <= 1)
        {
            return (channels, rank);
        }
        // [C,1,1] broadcast against NCHW: rank is one more than the constant's, C its element count.
        return (channels ?? t.ElementCount, rank ?? (t.Dims[0] == t.ElementCount ? t.Dims.Length + 1 : t.Dims.Length));
    }

    /// <summary>Matches d / Sqrt(ReduceMean(d²) + ε) with d = r − ReduceMean(r); returns r and ε.</summary>
    private static (Value? Grouped, float Epsilon, string? Reason) MatchMoments(Node div, List<Node> nodes)
    {
        Node? sub = Patterns.ProducedBy(div.Input(0), "Sub");
        Node? sqrt = Patterns.ProducedBy(div.Input(1), "Sqrt");
        if (sub is null || sqrt is null)
        {
            return (null, 0, "Div is not (x − mean) / Sqrt(...)");
        }
        Value d = sub.Outputs[0]!;
        Node? addEps = Patterns.ProducedBy(sqrt.Input(0), "Add");
        if (addEps is null)
        {
            return (null, 0, "Sqrt does not read variance + ε");
        }
        Node? varMean = Patterns.ProducedBy(addEps.Inputs[0], "ReduceMean") ?? Patterns.ProducedBy(addEps.Input(1), "ReduceMean");
        float[]? epsConst = varMean is null ? null : Patterns.ConstFloats(Patterns.OtherInput(addEps, varMean.Outputs[0]!));
        if (varMean is null || epsConst is not { Length: 1 })
        {
            return (null, 0, "variance + ε is not ReduceMean(...) + constant");
        }
        Node? square = Patterns.ProducedBy(varMean.Input(0), "Pow") ?? Patterns.ProducedBy(varMean.Input(0), "Mul");
        if (square is null || square.Inputs[0] != d || (square.OpType == "Pow" ? Patterns.ConstFloats(square.Input(1)) is not [2f] : square.Input(1) != d))
        {
            return (null, 0, "variance is not the mean of (x − mean)²");
        }
        Node? mean = Patterns.ProducedBy(sub.Input(1), "ReduceMean");
        if (mean is null || mean.Input(0) != sub.Input(0))
        {
            return (null, 0, "Sub does not subtract the mean of its own input");
        }
        foreach (Node reduce in new[] { mean, varMean })
        {
            long[]? axes = reduce.GetInts("axes") ?? Patterns.ConstInts(reduce.Input(1));
            if (axes is not ([-1] or [2]) || reduce.GetInt("keepdims", 1) != 1)
            {
                return (null, 0, $"{reduce} does not reduce the last axis with keepdims=1");
            }
        }
        Node[] inner = [div, sub, sqrt, addEps, varMean, square, mean];
        foreach (Node n in inner.Skip(1))
        {
            if (n.Outputs[0]!.IsGraphOutput || n.Outputs[0]!.Uses.Any(u => !inner.Contains(u.Node)))
            {
                return (null, 0, $"intermediate '{n.Outputs[0]!.Name}' is read outside the pattern");
            }
        }
        nodes.AddRange(inner);
        return (sub.Inputs[0], epsConst[0], null);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        if (rewriter.Graph.Model is not null && (rewriter.Graph.OpsetVersion("") ?? RequiredOpset) < RequiredOpset)
        {
            UpgradeOpset.Apply(rewriter, RequiredOpset);
        }
        long c = match.Scale.Length;
        Value scale = rewriter.CreateInitializer("scale", Tensor.Create<float>([c], match.Scale));
        Value bias = rewriter.CreateInitializer("bias", Tensor.Create<float>([c], match.Bias));
        Node gn = rewriter.CreateNode("GroupNormalization", [match.Input, scale, bias], "fused",
            attributes: [Attr.Int("num_groups", match.Groups), Attr.Float("epsilon", match.Epsilon)],
            derivedFrom: [match.Input], placeAfter: match.Output.Producer);
        rewriter.Replace(match.Output, gn.Outputs[0]!);
        rewriter.EraseIfUnused(match.Nodes);
    }
}
