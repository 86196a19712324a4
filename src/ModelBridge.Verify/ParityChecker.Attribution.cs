using Microsoft.ML.OnnxRuntime;
using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Verify;

public static partial class ParityChecker
{
    /// <summary>
    /// Names the pass that makes each of the first diverging tensors diverge: with passes [0, k) enabled
    /// the conversion is replayed and the tensor's counterpart compared; the smallest k at which it
    /// diverges is found by bisection (k = 0 is the original; k = all is replayed too, to confirm the
    /// divergence comes from a pass at all), and pass k − 1 is responsible. Replays are cached by k and
    /// shared by all tensors. A tensor that does not exist at stage k counts as not diverging there.
    /// </summary>
    private static List<TensorParity> Attribute(Session s, PassBisection bisection, List<Pair> pairs, List<TensorParity> results, List<string> warnings)
    {
        var targets = results.Where(r => !r.Passed && r.Problem is null).Take(Math.Max(0, s.Options.MaxAttributed)).ToList();
        if (targets.Count == 0 || bisection.PassIds.Count == 0)
        {
            return results;
        }
        int sample = targets[0].WorstSample;
        IReadOnlyDictionary<string, TensorData> reference;
        using (OrtRunner runner = s.Runner(s.Original, targets.Select(t => t.Original)))
        {
            reference = s.Run(runner, s.Samples[sample]);
        }
        int passCount = bisection.PassIds.Count;
        var cache = new Dictionary<int, Dictionary<string, bool>>();
        int conversions = 0;

        Dictionary<string, bool> Evaluate(int k)
        {
            if (cache.TryGetValue(k, out var hit))
            {
                return hit;
            }
            s.Token.ThrowIfCancellationRequested();
            s.Progress?.Report(new ParityProgress("attribute", conversions, (int)Math.Ceiling(Math.Log2(passCount + 1)) * targets.Count, $"passes 1..{k}"));
            var disabled = new HashSet<string>(bisection.PassIds.Skip(k), StringComparer.Ordinal);
            ConversionReplay replay = bisection.Convert(disabled, s.Token);
            conversions++;
            using Model model = replay.Model;
            var diverging = new Dictionary<string, bool>(StringComparer.Ordinal);
            var counterparts = new Dictionary<string, (string Name, TensorOrigin Origin)>(StringComparer.Ordinal);
            foreach (TensorParity t in targets)
            {
                if (Counterpart(replay.Map, model, t) is { } c)
                {
                    counterparts[t.Original] = c;
                }
                else
                {
                    // The tensor does not exist at this stage (fused away and recreated later): not observed diverging.
                    diverging[t.Original] = false;
                }
            }
            if (counterparts.Count > 0)
            {
                using OrtRunner runner = s.Runner(model, counterparts.Values.Select(c => c.Name));
                IReadOnlyDictionary<string, TensorData> actual = s.Run(runner, s.Samples[sample]);
                foreach (var (original, (name, origin)) in counterparts)
                {
                    TensorData a = actual[name];
                    TensorComparer comparer = DataTypes.IsFloatingPoint(a.ElementType) ? s.Options.ComparerFor(origin.Contract) : TensorComparer.Exact;
                    (ParityMetrics? m, _) = Measure(comparer, reference[original], a, origin.Slice, s.Options.Quantile);
                    diverging[original] = m is null || !comparer.Accepts(m);
                }
            }
            cache[k] = diverging;
            return diverging;
        }

        var updated = new List<TensorParity>(results);
        foreach (TensorParity t in targets)
        {
            PassAttribution attribution;
            try
            {
                // Replay the whole conversion first: a divergence it does not reproduce comes from no pass.
                if (!Evaluate(passCount)[t.Original])
                {
                    attribution = new PassAttribution(t.Original, null, conversions,
                        "replaying the full conversion does not reproduce the divergence: the model was changed after conversion, or the replay differs from the conversion checked");
                    int at = updated.FindIndex(r => r.Name == t.Name);
                    updated[at] = updated[at] with { Attribution = attribution };
                    continue;
                }
                int lo = 0, hi = passCount;
                while (hi - lo > 1)
                {
                    int mid = (lo + hi) / 2;
                    if (Evaluate(mid)[t.Original])
                    {
                        hi = mid;
                    }
                    else
                    {
                        lo = mid;
                    }
                }
                string pass = bisection.PassIds[hi - 1];
                attribution = new PassAttribution(t.Original, pass, conversions,
                    $"within tolerance with the first {hi - 1} pass(es) enabled; diverges once '{pass}' (pass {hi} of {passCount}) is enabled");
            }
            catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException or ArgumentException or ModelBridgeException)
            {
                attribution = new PassAttribution(t.Original, null, conversions, $"replaying the conversion failed: {e.Message}");
                warnings.Add($"attribution of '{t.Original}' failed: {e.Message}");
            }
            int index = updated.FindIndex(r => r.Name == t.Name);
            updated[index] = updated[index] with { Attribution = attribution };
        }
        s.Progress?.Report(new ParityProgress("attribute", conversions, conversions, null));
        return updated;
    }

    /// <summary>The value of a replayed conversion that stands for the same original tensor (and slice) as <paramref name="t"/>.</summary>
    private static (string Name, TensorOrigin Origin)? Counterpart(ProvenanceMap map, Model model, TensorParity t)
    {
        (string Name, TensorOrigin Origin)? best = null;
        foreach (var (name, origin) in map.Entries)
        {
            if (origin.Original != t.Original || !SameSlice(origin.Slice, t.Slice) || model.Graph.FindValue(name) is not { Producer: not null })
            {
                continue;
            }
            if (name == t.Name)
            {
                return (name, origin);
            }
            best ??= (name, origin);
        }
        return best;
    }

    private static bool SameSlice(ChannelSlice? a, ChannelSlice? b) =>
        a is null ? b is null : b is not null && a.Axis == b.Axis && a.Indices.SequenceEqual(b.Indices);
}
