using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Rewrites a Softmax or LogSoftmax that a target does not run as ONNX defines it (rank, axis, or an
/// axis left to opset-dependent defaults) into one it does, moving data with Reshape/Transpose
/// around it.
/// <code>
/// Before: x[1,4420,2] → Softmax(axis=2, opset 9) → y
/// After:  x → Reshape([4420,2]) → Softmax(axis=1) → Reshape([1,4420,2]) → y                  (flatten)
/// Before: x[N,C,H,W] → Softmax(axis=1, opset 13) → y
/// After:  x → Transpose(0,2,3,1) → Softmax(axis=3) → Transpose(0,3,1,2) → y                 (move last)
///         x → Transpose(0,2,3,1) → Reshape([N·H·W,C]) → Softmax(axis=1) → Reshape → Transpose → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Semantics (spec): before opset 13, Softmax(axis=a) flattens x to [d_0⋯d_{a−1}, d_a⋯d_{r−1}] and
/// normalizes each row; from 13 it normalizes along axis a alone. The two agree when every dim
/// after a is 1 (always for the last axis). A missing axis means 1 before opset 13 and −1 from 13,
/// and ONNX Runtime's NNAPI builder reads a missing axis as 1 in every opset and hands the axis to
/// NNAPI's per-axis SOFTMAX without flattening (softmax_op_builder.cc), so only a written axis with
/// per-axis meaning is read the same everywhere.
/// </para>
/// <para>
/// The node is left alone when it already is such a form the target runs: its rank accepted, its
/// axis accepted (last, if the target wants that), written (or resolving to 1 either way), and its
/// meaning per-axis. Otherwise the first of these that means the same and that the target runs is
/// emitted, all with the axis written: (1) the same node with the axis written; (2) Reshape to
/// [d_0⋯d_{a−1}, d_a⋯d_{r−1}], the op on axis 1, Reshape back, for the flattening meaning;
/// (3) Transpose a to the end, the op on the last axis, Transpose back, for the per-axis meaning;
/// (4) as (3) with the transposed tensor flattened to 2-D around the op. Reshape needs a static
/// input shape (constant shapes, as NNAPI requires) and opset 5.
/// </para>
/// <para>
/// Numerics: exact. Transpose and Reshape only move data, and every row the op normalizes holds
/// the same values in the same order as before (the tests check bit-identity in ONNX Runtime).
/// </para>
/// </remarks>
public sealed class LowerSoftmaxToSupportedForm : RewritePattern<LowerSoftmaxToSupportedForm.Found>
{
    /// <summary>Lowers Softmax and LogSoftmax to the rank-2, last-axis form.</summary>
    public LowerSoftmaxToSupportedForm()
        : this(SoftmaxForms.TwoDimensional)
    {
    }

    /// <summary>Lowers the given ops to the forms a target runs.</summary>
    /// <param name="forms">What the target runs and which data-movement ops may be used.</param>
    /// <param name="ops">The ops to lower: <c>Softmax</c>, <c>LogSoftmax</c> or both (the default).</param>
    public LowerSoftmaxToSupportedForm(SoftmaxForms forms, IReadOnlyList<string>? ops = null)
    {
        ArgumentNullException.ThrowIfNull(forms);
        ops ??= ["Softmax", "LogSoftmax"];
        if (ops.Count == 0 || ops.Any(o => o is not ("Softmax" or "LogSoftmax")))
        {
            throw new ArgumentException("The ops must be Softmax and/or LogSoftmax.", nameof(ops));
        }
        Forms = forms;
        RootOps = [.. ops.Distinct()];
    }

    /// <summary>How the rewritten node is spelled.</summary>
    public enum Form
    {
        /// <summary>The same op with its axis written.</summary>
        AxisWritten,

        /// <summary>Reshape to 2-D at the axis, the op on axis 1, Reshape back.</summary>
        Flatten,

        /// <summary>Transpose the axis last, the op on the last axis, Transpose back.</summary>
        MoveLast,

        /// <summary>Transpose the axis last, Reshape to 2-D, the op on axis 1, Reshape and Transpose back.</summary>
        MoveLastAndFlatten,
    }

    /// <summary>A Softmax/LogSoftmax and the form it becomes.</summary>
    /// <param name="Node">The node.</param>
    /// <param name="Axis">Its axis, non-negative.</param>
    /// <param name="Dims">Its input's static dims, when known.</param>
    /// <param name="Rank">Its input rank.</param>
    /// <param name="Chosen">The form.</param>
    public sealed record Found(Node Node, int Axis, long[]? Dims, int Rank, Form Chosen);

    /// <summary>What the target runs.</summary>
    public SoftmaxForms Forms { get; }

    /// <inheritdoc/>
    public override string Id => "lower-softmax-to-supported-form";

    /// <inheritdoc/>
    public override string RootOp => RootOps[0];

    /// <inheritdoc/>
    public override IReadOnlyList<string> RootOps { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [.. RootOps, "Reshape", "Transpose"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        Value? x = root.Input(0);
        if (graph.Shapes.RankOf(x) is not int rank)
        {
            return MatchResult.Fail("the input rank is unknown");
        }
        if (rank == 0)
        {
            return MatchResult.Fail("the input is a scalar");
        }
        long opset = graph.OpsetVersion("") ?? 13;
        bool written = root.HasAttribute("axis");
        long raw = written ? root.GetInt("axis") : opset < 13 ? 1 : -1;
        if (raw < -rank || raw >= rank)
        {
            return MatchResult.Fail($"axis={raw} is outside rank {rank}");
        }
        int a = (int)(raw < 0 ? raw + rank : raw);
        long[]? dims = graph.Shapes.StaticDimsOf(x);
        bool trailingOnes = a == rank - 1 || (dims is not null && dims[(a + 1)..].All(d => d == 1));
        // What the node means: rows of the 2-D flattening at a (before 13), or slices along a (from 13).
        bool flattening = opset < 13 || trailingOnes;
        bool perAxis = opset >= 13 || trailingOnes;
        bool axisOk = !Forms.LastAxisOnly || a == rank - 1;
        bool unambiguous = written || a == 1;
        if (perAxis && Forms.AcceptsRank(rank) && axisOk && unambiguous)
        {
            return MatchResult.Fail($"rank {rank}, axis {a}{(written ? "" : " (default)")} is already a form the target runs ({Forms})");
        }
        var refused = new List<string>();
        if (perAxis && Forms.AcceptsRank(rank) && axisOk)
        {
            return new Found(root, a, dims, rank, Form.AxisWritten);
        }
        string meaning = perAxis
            ? $"{root.OpType} along axis {a} of rank {rank}"
            : $"before opset 13, {root.OpType} over the flattened axes {a}..{rank - 1}";
        string? reshape = ReshapeProblem(dims, opset, rank);
        if (flattening)
        {
            if (reshape is null)
            {
                return new Found(root, a, dims, rank, Form.Flatten);
            }
            refused.Add($"flattening to 2-D: {reshape}");
        }
        if (perAxis && a != rank - 1)
        {
            string? transpose = Forms.Transpose ? null : "the target has no Transpose";
            if (transpose is null && Forms.AcceptsRank(rank))
            {
                return new Found(root, a, dims, rank, Form.MoveLast);
            }
            string? both = transpose ?? reshape;
            if (both is null)
            {
                return new Found(root, a, dims, rank, Form.MoveLastAndFlatten);
            }
            refused.Add($"moving axis {a} last: {both}");
        }
        if (!perAxis)
        {
            refused.Add("moving the axis last: that changes which elements are normalized together");
        }
        return MatchResult.Fail($"{meaning}, which the target ({Forms}) does not run as is; {string.Join("; ", refused)}");
    }

    /// <summary>Why a Reshape to rank 2 and back cannot be emitted, or null.</summary>
    private string? ReshapeProblem(long[]? dims, long opset, int rank)
    {
        if (!Forms.AcceptsRank(2))
        {
            return "the target does not run it on rank 2";
        }
        if (!Forms.Reshape)
        {
            return "the target has no Reshape";
        }
        if (rank > Forms.MaxReshapeRank)
        {
            return $"the target reshapes tensors of rank {Forms.MaxReshapeRank} at most";
        }
        if (opset < 5)
        {
            return $"Reshape at opset {opset} takes no shape input";
        }
        return dims is null ? "the input shape is not static (pin the symbolic dims)" : null;
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Node node = match.Node;
        Value y = node.Outputs[0]!;
        int r = match.Rank, a = match.Axis;
        Value current = node.Inputs[0]!;
        long[] perm = [.. Enumerable.Range(0, r).Where(i => i != a).Append(a).Select(i => (long)i)];
        long[] inverse = new long[r];
        for (int i = 0; i < r; i++)
        {
            inverse[perm[i]] = i;
        }
        bool moves = match.Chosen is Form.MoveLast or Form.MoveLastAndFlatten;
        long[]? movedDims = match.Dims is { } d ? [.. perm.Select(p => d[p])] : null;
        if (moves)
        {
            current = Create(rewriter, node, "Transpose", current, "move_axis_last", [Attr.Ints("perm", perm)]);
        }
        int opAxis = match.Chosen switch
        {
            Form.AxisWritten => a,
            Form.MoveLast => r - 1,
            _ => 1,
        };
        long[]? restore = null;
        if (match.Chosen is Form.Flatten or Form.MoveLastAndFlatten)
        {
            long[] full = match.Chosen == Form.Flatten ? match.Dims! : movedDims!;
            int split = match.Chosen == Form.Flatten ? a : r - 1;
            long rows = full[..split].Aggregate(1L, (p, v) => p * v), cols = full[split..].Aggregate(1L, (p, v) => p * v);
            current = Reshape(rewriter, node, current, "flatten", [rows, cols]);
            restore = full;
        }
        current = Create(rewriter, node, node.OpType, current, node.OpType.ToLowerInvariant(), [Attr.Int("axis", opAxis)]);
        if (restore is not null)
        {
            current = Reshape(rewriter, node, current, "unflatten", restore);
        }
        if (moves)
        {
            current = Create(rewriter, node, "Transpose", current, "move_axis_back", [Attr.Ints("perm", inverse)]);
        }
        rewriter.Replace(y, current);
        rewriter.EraseIfUnused([node]);
    }

    private static Value Create(GraphRewriter rewriter, Node original, string op, Value input, string role, AttributeValue[] attrs) =>
        rewriter.CreateNode(op, [input], role, attributes: attrs, derivedFrom: [original.Inputs[0]!], placeAfter: original).Outputs[0]!;

    private static Value Reshape(GraphRewriter rewriter, Node original, Value input, string role, long[] shape)
    {
        Value s = rewriter.CreateInitializer(role + "_shape", Tensor.Create<long>([shape.Length], shape));
        return rewriter.CreateNode("Reshape", [input, s], role, derivedFrom: [original.Inputs[0]!], placeAfter: original).Outputs[0]!;
    }
}
