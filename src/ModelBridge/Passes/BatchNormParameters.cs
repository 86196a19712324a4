using ModelBridge.Ir;

namespace ModelBridge.Passes;

/// <summary>A BatchNormalization node's constant parameters, reduced to y = x·s + t per channel.</summary>
/// <param name="Scale">s = γ/√(σ²+ε) per channel.</param>
/// <param name="Shift">t = β − μ·s per channel.</param>
public sealed record BatchNormParameters(double[] Scale, double[] Shift)
{
    /// <summary>
    /// Reads scale γ, bias β, mean μ and variance σ² and returns s = γ/√(σ²+ε), t = β − μ·s
    /// (in double precision), or a reason when the node cannot be treated as an inference BN.
    /// </summary>
    internal static (BatchNormParameters? Value, string? Reason) TryRead(Node bn)
    {
        if (bn.GetInt("training_mode", 0) != 0)
        {
            return (null, "training_mode=1");
        }
        for (int i = 1; i < bn.Outputs.Count; i++)
        {
            if (bn.Outputs[i] is { } extra && (extra.Uses.Count > 0 || extra.IsGraphOutput))
            {
                return (null, $"training output '{extra.Name}' is used");
            }
        }
        float[]?[] p = [.. Enumerable.Range(1, 4).Select(i => Rewriting.Patterns.ConstFloats(bn.Input(i)))];
        if (p.Any(a => a is null))
        {
            return (null, "scale, bias, mean and variance must all be constant float initializers");
        }
        int c = p[0]!.Length;
        if (p.Any(a => a!.Length != c))
        {
            return (null, "scale, bias, mean and variance differ in length");
        }
        double eps = bn.GetFloat("epsilon", 1e-5f);
        var s = new double[c];
        var t = new double[c];
        for (int i = 0; i < c; i++)
        {
            s[i] = p[0]![i] / Math.Sqrt(p[3]![i] + eps);
            t[i] = p[1]![i] - p[2]![i] * s[i];
        }
        return (new BatchNormParameters(s, t), null);
    }
}
