using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Takes initializers off the graph's input list, so they are constants for deployment.
/// <code>
/// Before: inputs [input, conv.weight, bn.running_mean, ...]; initializers [conv.weight, bn.running_mean, ...]
/// After:  inputs [input];                                    initializers unchanged
/// </code>
/// </summary>
/// <remarks>
/// Before IR version 4 every initializer had to be listed among the graph inputs, and exporters of that
/// era (PyTorch 1.2) kept doing so. An initializer that is also an input can be overridden at run
/// time, so it is not a constant: weights look computed, BatchNorm cannot be folded and every
/// accelerator refuses the convolutions. Like ONNX Runtime's <c>remove_initializer_from_input.py</c>
/// and onnxsim, this pass drops them from the input list (their default values stay as initializers).
/// <c>convert --keep-initializer-inputs</c> (<see cref="ConvertOptions.KeepInitializerInputs"/>)
/// keeps them overridable. The model's IR version is left alone: IR ≥ 4 allows but does not require
/// the listing. Numerics: exact (every value keeps its default).
/// </remarks>
public sealed class RemoveInitializerInputs : GraphPass
{
    /// <inheritdoc/>
    public override string Id => "remove-initializer-inputs";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        int removed = 0;
        foreach (Value input in rewriter.Graph.Inputs.Where(v => v.Initializer is not null).ToList())
        {
            rewriter.RemoveGraphInput(input);
            removed++;
        }
        return removed;
    }
}
