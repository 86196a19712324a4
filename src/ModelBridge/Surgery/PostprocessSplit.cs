using ModelBridge.Costs;
using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Surgery;

/// <summary>
/// Cuts a converted model whose only unsupported nodes form a post-processing tail into two standalone
/// models: the part before the cut, for the accelerator, and the tail, to run on the CPU.
/// <code>
/// Before: x → backbone → heads → loc ──→ Exp → Mul → Add → Concat → boxes      (Exp refused)
///                              └→ conf → Softmax → scores
/// After:  main: x → backbone → heads → loc, scores      post: loc → Exp → Mul → Add → Concat → boxes
/// </code>
/// </summary>
/// <remarks>
/// <para>The tail is every unsupported node and everything downstream of it (the nodes that must wait for
/// it). It is a post-processing tail when it holds no contraction: no node the cost model charges
/// multiply-accumulates (<c>Conv</c>, <c>ConvTranspose</c>, <c>Gemm</c>, <c>MatMul</c>). When a
/// convolution runs after an unsupported node (a refused gate inside the network, say), cutting there
/// would move the network itself to the CPU, and the split is refused naming both nodes.</para>
/// <para>The cut tensors are the values the main part produces and the tail reads. The main model outputs
/// the original outputs it still produces, then the cut tensors; the post model takes the cut tensors
/// (and any graph input the tail reads) and produces the remaining original outputs. Both keep every
/// value name, so one tensor map covers both, and <see cref="Stitch"/> joins them back by name.
/// Numerics: exact (no node is changed).</para>
/// </remarks>
public static partial class PostprocessSplit
{
    /// <summary>
    /// Splits <paramref name="converted"/> after its last supported nodes; null when every node is
    /// supported (nothing to cut). The model is not changed.
    /// </summary>
    /// <param name="converted">The converted model.</param>
    /// <param name="report">Its check against the target (<see cref="ConversionResult.Remaining"/>).</param>
    /// <param name="dims">Pinned dimensions, for the types of the cut tensors.</param>
    /// <exception cref="UnsupportedOperatorException">
    /// The unsupported nodes are not a post-processing tail; the message names the unsupported node and
    /// the contraction that runs after it.
    /// </exception>
    public static PostprocessSplitResult? Split(Model converted, ProfileReport report, IReadOnlyDictionary<string, long>? dims = null)
    {
        ArgumentNullException.ThrowIfNull(converted);
        ArgumentNullException.ThrowIfNull(report);
        Graph graph = converted.Graph;
        if (report.Unsupported.Any(v => v.Node.Graph != graph || !v.Node.IsAlive))
        {
            throw new ArgumentException("The report was not made on this model's graph.", nameof(report));
        }
        if (report.AllSupported)
        {
            return null;
        }
        ShapeInferenceResult shapes = ShapeInference.Run(graph, new ShapeInferenceOptions { DimOverrides = dims ?? new Dictionary<string, long>(), Lenient = true });
        IReadOnlyList<Node> order = graph.TopologicalOrder();
        var position = order.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i);
        Dictionary<Node, Node> origin = Tail(report.Unsupported.Select(v => v.Node));
        List<Node> tail = [.. origin.Keys.OrderBy(n => position[n])];
        RefuseContractions(graph, tail, origin, shapes);
        if (order.All(n => origin.ContainsKey(n) || IsConstantNode(n)))
        {
            ThrowHelper.UnsupportedOperator($"Every node would run after an unsupported one ({Describe(tail[0])}), so nothing would be left for the accelerator.", tail[0]);
        }

        var inTail = new HashSet<Node>(tail);
        List<Value> cut = [.. order.Where(n => !inTail.Contains(n) && !IsConstantNode(n))
            .SelectMany(n => n.Outputs.OfType<Value>())
            .Where(v => v.Uses.Any(u => inTail.Contains(u.Node)))];
        foreach (Value v in cut.Where(v => (shapes.TypeOf(v) ?? v.DeclaredType) is null))
        {
            ThrowHelper.UnsupportedOperator($"Cannot cut at '{v.Name}': its type is unknown (pin symbolic dimensions).", v.Producer);
        }
        List<Value> graphInputs = [.. graph.Inputs.Where(v => v.Initializer is null && v.Uses.Any(u => inTail.Contains(u.Node)))];
        string[] tailOutputs = [.. graph.Outputs.Where(o => o.Producer is { } p && inTail.Contains(p)).Select(o => o.Name)];
        // Nodes are found again in each clone by their first output: node names may be empty or repeated.
        string[] tailKeys = [.. tail.Select(Key)];

        // The clones have their own Value objects: carry the cut tensors' types across by name.
        List<(string Name, TensorType? Type)> cutTypes = [.. cut.Select(v => (v.Name, shapes.TypeOf(v) ?? v.DeclaredType))];
        Model main = converted.Clone();
        Model post = converted.Clone();
        try
        {
            CutMain(main.Graph, tailKeys, cutTypes);
            CutPost(post.Graph, tailKeys, tailOutputs, cutTypes);
        }
        catch
        {
            main.Dispose();
            post.Dispose();
            throw;
        }
        return new PostprocessSplitResult(main, post, [.. cut.Select(v => v.Name)], [.. graphInputs.Select(v => v.Name)], [.. tail.Select(Describe)],
            [.. graph.Outputs.Select(o => o.Name)]);
    }

    /// <summary>Every node downstream of <paramref name="unsupported"/>, each with the unsupported node it was reached from.</summary>
    private static Dictionary<Node, Node> Tail(IEnumerable<Node> unsupported)
    {
        var origin = new Dictionary<Node, Node>();
        var queue = new Queue<(Node Node, Node From)>(unsupported.Select(n => (n, n)));
        while (queue.TryDequeue(out var item))
        {
            if (!origin.TryAdd(item.Node, item.From))
            {
                continue;
            }
            foreach (Use u in item.Node.Outputs.OfType<Value>().SelectMany(o => o.Uses))
            {
                queue.Enqueue((u.Node, item.From));
            }
        }
        return origin;
    }

    private static void RefuseContractions(Graph graph, List<Node> tail, Dictionary<Node, Node> origin, ShapeInferenceResult shapes)
    {
        var macs = CostModel.Compute(graph, shapes).Nodes.ToDictionary(c => c.Node, c => c.Macs);
        if (tail.FirstOrDefault(n => macs[n] is not 0) is not { } heavy)
        {
            return;
        }
        string amount = macs[heavy] is long m ? $" ({m:N0} MACs)" : "";
        Node from = origin[heavy];
        string what = from == heavy ? $"{Describe(heavy)}{amount} is itself unsupported" : $"{Describe(heavy)}{amount} runs after the unsupported {Describe(from)}";
        ThrowHelper.UnsupportedOperator(
            $"The unsupported nodes are not a post-processing tail: {what}; only a tail without convolutions or matrix products can be cut off to run on the CPU.", from);
    }

    private static void CutMain(Graph g, string[] tailKeys, List<(string Name, TensorType? Type)> cut) =>
        GraphRewriter.Edit(g, "split-postprocess", r =>
        {
            List<Node> tail = Find(g, tailKeys);
            var inTail = new HashSet<Node>(tail);
            List<Value> outputs = [.. g.Outputs.Where(o => o.Producer is not { } p || !inTail.Contains(p))];
            foreach (var (name, type) in cut)
            {
                Value v = g.GetValue(name);
                r.DeclareType(v, type);
                if (!outputs.Contains(v))
                {
                    outputs.Add(v);
                }
            }
            r.SetGraphOutputs(outputs);
            for (int i = tail.Count - 1; i >= 0; i--)
            {
                r.Erase(tail[i]);
            }
            RemoveUnused(r);
        });

    private static void CutPost(Graph g, string[] tailKeys, string[] tailOutputs, List<(string Name, TensorType? Type)> cut) =>
        GraphRewriter.Edit(g, "split-postprocess", r =>
        {
            var inTail = new HashSet<Node>(Find(g, tailKeys));
            r.SetGraphOutputs([.. tailOutputs.Select(g.GetValue)]);
            var inputs = new List<(Value Input, string Name)>();
            foreach (var (name, type) in cut)
            {
                Value input = r.AddGraphInput(name + "/split-postprocess/input", type);
                r.RedirectUses(g.GetValue(name), input);
                inputs.Add((input, name));
            }
            List<Node> main = [.. g.TopologicalOrder().Where(n => !inTail.Contains(n) && !IsConstantNode(n))];
            for (int i = main.Count - 1; i >= 0; i--)
            {
                r.Erase(main[i]);
            }
            foreach (var (input, name) in inputs)
            {
                // The producer is gone, so the cut tensor's own name is free for the input that replaces it.
                r.RenameInterfaceValue(input, name);
            }
            RemoveUnused(r);
        });

    /// <summary>Erases Constant nodes and initializers nobody reads, and graph inputs nobody reads.</summary>
    private static void RemoveUnused(GraphRewriter r)
    {
        Graph g = r.Graph;
        r.EraseIfUnused([.. g.Nodes.Where(IsConstantNode)]);
        foreach (Value v in g.Initializers.Where(v => v.Uses.Count == 0 && !v.IsGraphOutput).ToList())
        {
            r.EraseInitializer(v);
        }
        foreach (Value v in g.Inputs.Where(v => v.Uses.Count == 0 && !v.IsGraphOutput).ToList())
        {
            r.RemoveGraphInput(v);
        }
    }

    /// <summary>A node's identity across clones: its first output's name (value names are unique), else its name.</summary>
    private static string Key(Node n) => n.Outputs.OfType<Value>().FirstOrDefault()?.Name is { } o ? "value:" + o : "node:" + n.Name;

    private static List<Node> Find(Graph g, string[] keys)
    {
        var byKey = g.Nodes.GroupBy(Key).ToDictionary(x => x.Key, x => x.First(), StringComparer.Ordinal);
        return [.. keys.Select(k => byKey[k])];
    }

    private static bool IsConstantNode(Node n) => n is { OpType: "Constant", IsStandardDomain: true };

    /// <summary><c>Exp 'name'</c>, or <c>Exp producing 'output'</c> for an unnamed node.</summary>
    internal static string Describe(Node n) =>
        n.Name.Length > 0 ? $"{n.OpType} '{n.Name}'" : $"{n.OpType} producing '{n.Outputs.OfType<Value>().FirstOrDefault()?.Name}'";
}

/// <summary>The two models <see cref="PostprocessSplit.Split"/> makes, and what passes between them.</summary>
public sealed class PostprocessSplitResult : IDisposable
{
    internal PostprocessSplitResult(Model main, Model post, IReadOnlyList<string> cut, IReadOnlyList<string> graphInputs, IReadOnlyList<string> tail,
        IReadOnlyList<string> outputs)
    {
        Main = main;
        Post = post;
        CutTensors = cut;
        PostGraphInputs = graphInputs;
        TailNodes = tail;
        Outputs = outputs;
    }

    /// <summary>The model up to the cut, for the accelerator: the original outputs it still produces, then <see cref="CutTensors"/>.</summary>
    public Model Main { get; }

    /// <summary>The tail, to run on the CPU: reads <see cref="CutTensors"/> (and <see cref="PostGraphInputs"/>) and produces the other outputs.</summary>
    public Model Post { get; }

    /// <summary>The tensors passed from <see cref="Main"/> to <see cref="Post"/>, by name.</summary>
    public IReadOnlyList<string> CutTensors { get; }

    /// <summary>Inputs of the original graph that the tail reads directly (fed to <see cref="Post"/> too).</summary>
    public IReadOnlyList<string> PostGraphInputs { get; }

    /// <summary>The nodes moved to <see cref="Post"/>, as <c>Op 'name'</c>, in topological order.</summary>
    public IReadOnlyList<string> TailNodes { get; }

    /// <summary>The original graph's outputs, in order (the pair produces all of them).</summary>
    public IReadOnlyList<string> Outputs { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        Main.Dispose();
        Post.Dispose();
    }
}
