using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>Builds one form of a lowering at <paramref name="root"/> and returns the value that replaces its output 0.</summary>
/// <param name="rewriter">The rewriter (of the real graph, or of the scratch graph the form is checked in).</param>
/// <param name="root">The node being lowered.</param>
public delegate Value LoweringBuilder(GraphRewriter rewriter, Node root);

/// <summary>
/// One way a lowering can express its root node: the operators it creates, what it promises numerically
/// (measured against the root operator in ONNX Runtime), when it applies, and how to build it.
/// </summary>
/// <param name="Name">Short kebab-case name shown in reasons and notes (<c>relu-min</c>).</param>
/// <param name="Ops">Every operator the form may create.</param>
/// <param name="Numerics">The form's contract against the root operator.</param>
/// <param name="Build">Creates the form.</param>
public sealed record LoweringForm(string Name, IReadOnlyList<string> Ops, NumericContract Numerics, LoweringBuilder Build)
{
    /// <summary>Why the form cannot express this root (an attribute value, an opset), or null when it can.</summary>
    public Func<IReadOnlyGraph, Node, string?>? Precondition { get; init; }

    /// <summary>The loosest of <paramref name="contracts"/>: exact when all are, else the largest tolerances.</summary>
    public static NumericContract Loosest(IEnumerable<NumericContract> contracts)
    {
        ArgumentNullException.ThrowIfNull(contracts);
        var inexact = contracts.Where(c => !c.IsExact).ToList();
        return inexact.Count == 0
            ? NumericContract.Exact
            : NumericContract.Approximate(inexact.Max(c => c.RelativeTolerance), inexact.Max(c => c.AbsoluteTolerance));
    }
}

/// <summary>Which form a target-aware lowering chose at a node, and why it passed over the forms before it.</summary>
/// <param name="Node">The lowered node.</param>
/// <param name="Form">The chosen form's name.</param>
/// <param name="Numerics">The chosen form's contract.</param>
/// <param name="PassedOver">For each earlier form: its name and what refused it (a precondition or the target).</param>
public sealed record LoweringChoice(string Node, string Form, NumericContract Numerics, IReadOnlyList<string> PassedOver) : PassNote(Node);
