using ModelBridge.Errors;
using ModelBridge.Ir;

namespace ModelBridge;

/// <summary>Which default-domain (<c>ai.onnx</c>) opsets ModelBridge knows the operator definitions of.</summary>
/// <remarks>
/// A model that imports a newer opset still loads, validates, and can be inspected and checked:
/// its graph is carried as it is, and shape inference applies the newest rules it has and says so
/// in a warning. Conversion refuses it with <see cref="UnsupportedOperatorException"/>, because
/// the passes rewrite operators by their definitions, and an operator redefined in an opset this
/// version has never seen could be rewritten into something that computes a different result.
/// </remarks>
public static class OpsetSupport
{
    /// <summary>The newest default-domain opset whose operator definitions the passes and shape rules follow.</summary>
    public const long NewestKnown = 23;

    /// <summary>The model's default-domain opset when it is newer than <see cref="NewestKnown"/>, else null.</summary>
    public static long? FutureOpset(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return graph.OpsetVersion("") is long v && v > NewestKnown ? v : null;
    }

    /// <summary>Throws when <paramref name="model"/> imports a default-domain opset newer than <see cref="NewestKnown"/>.</summary>
    internal static void RequireKnown(Model model, string operation)
    {
        if (FutureOpset(model.Graph) is long v)
        {
            throw new UnsupportedOperatorException(
                $"The model imports default-domain opset {v}, newer than the newest ModelBridge knows ({NewestKnown}); {operation} is refused because "
                + "its rewrites follow operator definitions that opset may have changed.", null, null);
        }
    }
}
