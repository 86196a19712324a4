using Microsoft.ML.OnnxRuntime;
using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Verify;

public static partial class ParityChecker
{
    /// <summary>
    /// The local error of each diverging tensor (the first <see cref="ParityOptions.MaxLocalized"/>) and of
    /// the mapped tensors feeding the first divergence: the tensor's region of the rewritten graph run on
    /// its own, fed at its boundary with the original graph's values.
    /// </summary>
    private static List<TensorParity> Localize(Session s, List<Pair> pairs, List<TensorParity> results, List<string> warnings)
    {
        TensorParity first = results.First(r => !r.Passed);
        int sample = first.WorstSample;
        var byName = results.Select((r, i) => (r, i)).ToDictionary(x => x.r.Name, x => x.i, StringComparer.Ordinal);
        var targets = results.Where(r => !r.Passed && r.Problem is null).Take(Math.Max(0, s.Options.MaxLocalized)).Select(r => r.Name).ToList();
        var regions = new Dictionary<string, Region>(StringComparer.Ordinal);
        foreach (string name in targets)
        {
            regions[name] = FindRegion(s, name);
        }
        // The mapped tensors feeding the first divergence, so its local error can be set beside theirs.
        if (regions.TryGetValue(first.Name, out Region? firstRegion))
        {
            foreach (string b in firstRegion.Boundary.Where(b => byName.ContainsKey(b) && !regions.ContainsKey(b)))
            {
                regions[b] = FindRegion(s, b);
            }
        }
        if (regions.Count == 0)
        {
            return results;
        }

        // One run of the original exposes every original value the regions need.
        var needed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, region) in regions)
        {
            needed.Add(results[byName[name]].Original);
            foreach (string b in region.Boundary)
            {
                if (s.Map.Get(b)?.Original is { } o && s.Original.Graph.FindValue(o) is { Producer: not null })
                {
                    needed.Add(o);
                }
            }
        }
        IReadOnlyDictionary<string, TensorData> originalValues;
        using (OrtRunner runner = s.Runner(s.Original, needed))
        {
            originalValues = s.Run(runner, s.Samples[sample]);
        }

        var updated = new List<TensorParity>(results);
        int done = 0;
        foreach (var (name, region) in regions)
        {
            s.Token.ThrowIfCancellationRequested();
            s.Progress?.Report(new ParityProgress("localize", done++, regions.Count, name));
            int index = byName[name];
            Pair pair = pairs.First(p => p.Name == name);
            try
            {
                LocalParity? local = RunRegion(s, region, pair, originalValues, s.Samples[sample]);
                updated[index] = updated[index] with { Local = local };
            }
            catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException or ArgumentException or ModelBridgeException)
            {
                warnings.Add($"localisation of '{name}' failed: {e.Message}");
            }
        }
        s.Progress?.Report(new ParityProgress("localize", regions.Count, regions.Count, null));
        return updated;
    }

    /// <summary>A tensor's region: the rewritten nodes between it and its boundary (graph inputs and the nearest mapped tensors upstream).</summary>
    private sealed record Region(string Target, IReadOnlyList<string> Nodes, IReadOnlyList<string> Boundary);

    private static Region FindRegion(Session s, string target)
    {
        Graph g = s.Rewritten.Graph;
        Value t = g.GetValue(target);
        var nodes = new List<string>();
        var boundary = new List<string>();
        var seenNodes = new HashSet<Node>();
        var seenValues = new HashSet<Value>();
        var stack = new Stack<Node>();
        if (t.Producer is { } producer)
        {
            stack.Push(producer);
            seenNodes.Add(producer);
        }
        while (stack.Count > 0)
        {
            Node n = stack.Pop();
            nodes.Add(n.Name);
            foreach (Value? v in n.Inputs.Concat(n.ImplicitInputs))
            {
                if (v is null || !seenValues.Add(v) || v.Initializer is not null)
                {
                    continue;
                }
                if (v.IsGraphInput || IsMapped(s, v.Name) || v.Producer is null)
                {
                    boundary.Add(v.Name);
                    continue;
                }
                if (seenNodes.Add(v.Producer))
                {
                    stack.Push(v.Producer);
                }
            }
        }
        return new Region(target, nodes, boundary);
    }

    private static bool IsMapped(Session s, string rewrittenName) =>
        s.Map.Get(rewrittenName)?.Original is { } o && s.Original.Graph.FindValue(o) is not null;

    /// <summary>Builds the region as a model of its own, feeds it the original's boundary values and compares its output.</summary>
    private static LocalParity? RunRegion(Session s, Region region, Pair pair, IReadOnlyDictionary<string, TensorData> originalValues,
        IReadOnlyDictionary<string, TensorData> sample)
    {
        using Model sub = s.Rewritten.Clone();
        Graph g = sub.Graph;
        var regionNodes = new HashSet<Node>(region.Nodes.Select(n => g.FindNode(n) ?? throw new InvalidOperationException($"Node '{n}' vanished from the clone.")));
        var feeds = new Dictionary<string, TensorData>(sample, StringComparer.Ordinal);
        var boundaryNames = new List<string>();
        // The region model is built from a copy through the rewriter, like any other edit of a graph.
        GraphRewriter.Edit(g, "parity-region", rewriter =>
        {
            rewriter.SetGraphOutputs([g.GetValue(region.Target)]);
            foreach (string b in region.Boundary)
            {
                Value v = g.GetValue(b);
                if (v.IsGraphInput)
                {
                    boundaryNames.Add(b);
                    continue;
                }
                TensorData data = OriginalValue(s, b, originalValues, sample)
                    ?? throw new InvalidOperationException($"No original value for boundary tensor '{b}'.");
                Value input = rewriter.AddGraphInput(b + "/parity-boundary", new TensorType(data.ElementType, TensorShape.Of([.. data.Dims])));
                foreach (Use u in v.Uses.ToList())
                {
                    if (!u.IsImplicit && regionNodes.Contains(u.Node))
                    {
                        rewriter.SetInput(u.Node, u.InputIndex, input);
                    }
                }
                feeds[input.Name] = data;
                boundaryNames.Add(s.Map.Get(b)?.Original ?? b);
            }
            foreach (Node n in g.TopologicalOrder().Reverse())
            {
                if (!regionNodes.Contains(n))
                {
                    rewriter.Erase(n);
                }
            }
            foreach (Value init in g.Initializers.Where(v => v.Uses.Count == 0 && !v.IsGraphInput && !v.IsGraphOutput).ToList())
            {
                rewriter.EraseInitializer(init);
            }
        });
        using OrtRunner runner = s.Runner(sub, []);
        IReadOnlyDictionary<string, TensorData> outputs = s.Run(runner, feeds);
        TensorData reference = originalValues[pair.Original];
        TensorData actual = outputs[region.Target];
        TensorComparer comparer = DataTypes.IsFloatingPoint(actual.ElementType) ? pair.Comparer : TensorComparer.Exact;
        (ParityMetrics? m, _) = Measure(comparer, reference, actual, pair.Origin.Slice, s.Options.Quantile);
        if (m is null)
        {
            return null;
        }
        return new LocalParity(m, comparer.Error(m), comparer.Threshold(m), comparer.Accepts(m), boundaryNames, regionNodes.Count);
    }

    /// <summary>The original graph's value standing for rewritten tensor <paramref name="rewrittenName"/> (sliced as mapped).</summary>
    private static TensorData? OriginalValue(Session s, string rewrittenName, IReadOnlyDictionary<string, TensorData> originalValues,
        IReadOnlyDictionary<string, TensorData> sample)
    {
        TensorOrigin? origin = s.Map.Get(rewrittenName);
        if (origin?.Original is not { } o)
        {
            return null;
        }
        Value? ov = s.Original.Graph.FindValue(o);
        TensorData? data = ov switch
        {
            null => null,
            { Producer: not null } => originalValues.GetValueOrDefault(o),
            { Initializer: { } init } => TensorData.FromTensor(init),
            _ => sample.GetValueOrDefault(o),
        };
        return data is not null && origin.Slice is { } slice ? TensorViews.Slice(data, slice) : data;
    }
}
