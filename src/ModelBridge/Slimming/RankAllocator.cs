namespace ModelBridge.Slimming;

/// <summary>One way to slim one layer, with its cost and the error it causes on its own.</summary>
/// <param name="Layer">The layer's weight name (<see cref="ConvLayer.Weight"/>).</param>
/// <param name="Method">The factorisation.</param>
/// <param name="Rank">r.</param>
/// <param name="Macs">MACs of the layer's sites after factoring.</param>
/// <param name="Parameters">Weight and bias elements after factoring.</param>
/// <param name="Error">
/// The sensitivity: the model's output error with only this layer factored (or, without calibration data,
/// the relative weight error); lower is better.
/// </param>
public sealed record SlimCandidate(string Layer, FactorizationMethod Method, int Rank, long Macs, long Parameters, double Error);

/// <summary>The candidate chosen for one layer, or none (the layer is kept).</summary>
/// <param name="Layer">The layer's weight name.</param>
/// <param name="OriginalMacs">MACs of the layer as it is.</param>
/// <param name="Choice">The chosen candidate, or null to keep the layer.</param>
public sealed record LayerChoice(string Layer, long OriginalMacs, SlimCandidate? Choice)
{
    /// <summary>MACs after the choice.</summary>
    public long Macs => Choice?.Macs ?? OriginalMacs;
}

/// <summary>The outcome of <see cref="RankAllocator.Allocate"/>.</summary>
/// <param name="Layers">Per candidate layer, in input order.</param>
/// <param name="ModelMacs">MACs of the whole model before slimming.</param>
/// <param name="TargetMacs">The budget: F × <paramref name="ModelMacs"/>.</param>
/// <param name="Macs">MACs of the whole model with the choices.</param>
/// <param name="Threshold">The per-layer error threshold the search settled on.</param>
/// <param name="Met">Whether <paramref name="Macs"/> ≤ <paramref name="TargetMacs"/>; when false the choices are every layer's cheapest.</param>
public sealed record Allocation(IReadOnlyList<LayerChoice> Layers, long ModelMacs, long TargetMacs, long Macs, double Threshold, bool Met)
{
    /// <summary>Macs / ModelMacs.</summary>
    public double Fraction => ModelMacs == 0 ? 1 : (double)Macs / ModelMacs;
}

/// <summary>
/// Chooses a factorisation and rank per layer so that the model meets a MAC budget, by AIMET's greedy
/// compression-ratio selection (<c>aimet_common/comp_ratio_select.py</c>, <c>GreedyCompRatioSelectAlgo</c>).
/// </summary>
/// <remarks>
/// <para>
/// AIMET evaluates the model with one layer compressed at a time, at compression ratios 1/n … (n−1)/n of
/// that layer's cost, and then searches one common score threshold: every layer takes its most compressed
/// candidate whose score stays within the threshold, and the threshold is moved until the model's cost
/// meets the target. Here the score is an error (lower is better), the candidates of a layer span all
/// applicable factorisations (<see cref="Grid"/>), and the search runs over the measured errors themselves
/// rather than by bisection, so it finds the smallest threshold that meets the budget exactly.
/// </para>
/// <para>
/// For a threshold τ each layer takes, among its candidates with error ≤ τ, the one with the fewest MACs
/// (ties: the smaller error), or stays as it is when none saves MACs. The model's MACs are then
/// non-increasing in τ, so the least τ meeting the budget F is unique, and a larger F never leads to
/// fewer MACs (the allocation is monotone in F).
/// </para>
/// </remarks>
internal static class RankAllocator
{
    /// <summary>
    /// The candidate (method, rank) pairs of <paramref name="layer"/>: for each applicable method and each
    /// ratio ρ = k/<paramref name="steps"/> (k = 1 … steps − 1), the largest rank whose MACs are at most ρ
    /// times the layer's; ranks that save nothing or repeat are left out.
    /// </summary>
    public static IReadOnlyList<(FactorizationMethod Method, int Rank)> Grid(ConvLayer layer, IEnumerable<FactorizationMethod> methods, int steps = 10)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 2);
        long original = layer.OriginalMacs;
        var grid = new List<(FactorizationMethod, int)>();
        foreach (FactorizationMethod method in methods.Distinct().Where(layer.Supports))
        {
            long perRank = layer.Macs(method, 1);
            if (perRank <= 0 || original <= 0)
            {
                continue;
            }
            var ranks = new SortedSet<int>();
            for (int k = 1; k < steps; k++)
            {
                long r = Math.Min(original * k / steps / perRank, layer.FullRank(method));
                if (r >= 1 && layer.Macs(method, (int)r) < original)
                {
                    ranks.Add((int)r);
                }
            }
            grid.AddRange(ranks.Select(r => (method, r)));
        }
        return grid;
    }

    /// <summary>Chooses per layer so that the model's MACs are at most <paramref name="fraction"/> of <paramref name="modelMacs"/>.</summary>
    /// <param name="modelMacs">MACs of the whole model.</param>
    /// <param name="layers">The candidate layers: weight name and MACs as they are.</param>
    /// <param name="candidates">Every measured candidate (layers not listed in <paramref name="layers"/> are ignored).</param>
    /// <param name="fraction">F in (0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fraction"/> is not in (0, 1].</exception>
    public static Allocation Allocate(long modelMacs, IReadOnlyList<(string Layer, long Macs)> layers, IReadOnlyList<SlimCandidate> candidates, double fraction)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(candidates);
        if (!(fraction > 0 && fraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The MAC budget is a fraction in (0, 1].");
        }
        long target = (long)Math.Floor(fraction * modelMacs);
        var byLayer = layers.ToDictionary(l => l.Layer, l => candidates.Where(c => c.Layer == l.Layer && c.Macs < l.Macs && !double.IsNaN(c.Error)).ToList(), StringComparer.Ordinal);
        double[] thresholds = [double.NegativeInfinity, .. candidates.Where(c => byLayer.ContainsKey(c.Layer)).Select(c => c.Error).Where(e => !double.IsNaN(e)).Distinct().Order()];
        int lo = 0, hi = thresholds.Length - 1;
        if (Total(modelMacs, layers, byLayer, thresholds[hi]) > target)
        {
            double widest = thresholds[hi];
            return Result(modelMacs, target, layers, byLayer, widest, met: false);
        }
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (Total(modelMacs, layers, byLayer, thresholds[mid]) <= target)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }
        return Result(modelMacs, target, layers, byLayer, thresholds[lo], met: true);
    }

    private static Allocation Result(long modelMacs, long target, IReadOnlyList<(string Layer, long Macs)> layers,
        Dictionary<string, List<SlimCandidate>> byLayer, double threshold, bool met)
    {
        var choices = layers.Select(l => new LayerChoice(l.Layer, l.Macs, Pick(byLayer[l.Layer], threshold))).ToList();
        long macs = modelMacs - choices.Sum(c => c.OriginalMacs - c.Macs);
        return new Allocation(choices, modelMacs, target, macs, threshold, met);
    }

    private static long Total(long modelMacs, IReadOnlyList<(string Layer, long Macs)> layers, Dictionary<string, List<SlimCandidate>> byLayer, double threshold) =>
        modelMacs - layers.Sum(l => Pick(byLayer[l.Layer], threshold) is { } c ? l.Macs - c.Macs : 0);

    private static SlimCandidate? Pick(List<SlimCandidate> candidates, double threshold) =>
        candidates.Where(c => c.Error <= threshold).OrderBy(c => c.Macs).ThenBy(c => c.Error).ThenBy(c => c.Method).FirstOrDefault();
}
