using ModelBridge.Costs;
using ModelBridge.Ir;
using ModelBridge.Shapes;

namespace ModelBridge.Profiles;

/// <remarks>
/// This file holds the partition estimate: ONNX Runtime's partitioner
/// (<c>CreateSupportedPartitionNodeGroups</c>, onnxruntime/core/providers/partitioning_utils.cc) followed
/// by the execution provider's own rules from the profile (<see cref="CpuFallback"/>).
/// </remarks>
public static partial class ProfileChecker
{
    private static PartitionEstimate Partition(List<NodeVerdict> verdicts, CostReport costs, CpuFallback fallback, ShapeInferenceResult shapes)
    {
        var macs = costs.Nodes.ToDictionary(c => c.Node, c => c.Macs);
        var order = new Node[verdicts.Count];
        var index = new Dictionary<Node, int>(verdicts.Count);
        for (int i = 0; i < verdicts.Count; i++)
        {
            order[i] = verdicts[i].Node;
            index[order[i]] = i;
        }
        List<int>[] consumers = Consumers(order, index);
        bool[] excluded = Downstream(order, consumers, i => fallback.StopOps.Contains(order[i].OpType));
        bool[] supported = [.. verdicts.Select((v, i) => v.Supported && !excluded[i])];

        List<List<int>> groups = FormGroups(order, consumers, supported);
        // IsValidSupportedNodeGroup (NNAPI): a lone Reshape/Flatten/Identity is only a copy, not worth a delegate call.
        groups.RemoveAll(g => g.Count == 1 && fallback.RejectedSingleNodePartitions.Contains(order[g[0]].OpType));
        var sets = groups.Select(g => g.Select(i => order[i]).ToList()).ToList();
        if (fallback.RejectConstantOnlyPartitions)
        {
            // NNAPI's GetCapability drops a partition whose inputs are all constant initializers.
            sets.RemoveAll(s => BoundaryInputs(s).All(Constants.IsConstant));
        }
        if (fallback.BoundaryTypes is { } types)
        {
            // CoreML's FilterIncompatibleEdgeNodesFromPartitions: peel edge nodes whose boundary tensor type CoreML cannot take.
            foreach (List<Node> s in sets)
            {
                PeelIncompatibleEdges(s, types, shapes);
            }
            sets.RemoveAll(s => s.Count == 0);
        }

        long total = 0;
        int unknown = 0;
        foreach (NodeVerdict v in verdicts)
        {
            if (macs[v.Node] is long m)
            {
                total += m;
            }
            else
            {
                unknown++;
            }
        }
        var partitions = new List<AcceleratedPartition>(sets.Count);
        foreach (List<Node> s in sets)
        {
            long m = s.Sum(n => macs[n] ?? 0);
            partitions.Add(new AcceleratedPartition(partitions.Count, s, m, s.Count(n => macs[n] is null), total == 0 ? 0 : (double)m / total));
        }
        return new PartitionEstimate(partitions, fallback, verdicts.Count(v => v.Supported), verdicts.Count, total, unknown);
    }

    /// <summary>The checked nodes that read each node's outputs (explicitly or as a subgraph capture), each once.</summary>
    private static List<int>[] Consumers(Node[] order, Dictionary<Node, int> index)
    {
        var consumers = new List<int>[order.Length];
        for (int i = 0; i < order.Length; i++)
        {
            consumers[i] = [.. order[i].Outputs.OfType<Value>().SelectMany(o => o.Uses)
                .Select(u => index.TryGetValue(u.Node, out int j) ? j : -1).Where(j => j >= 0).Distinct()];
        }
        return consumers;
    }

    /// <summary>The nodes matching <paramref name="root"/> and every node downstream of them (ORT's <c>CreateExcludedNodeSet</c>).</summary>
    private static bool[] Downstream(Node[] order, List<int>[] consumers, Func<int, bool> root)
    {
        var marked = new bool[order.Length];
        var queue = new Queue<int>(Enumerable.Range(0, order.Length).Where(root));
        while (queue.TryDequeue(out int i))
        {
            if (marked[i])
            {
                continue;
            }
            marked[i] = true;
            foreach (int j in consumers[i])
            {
                queue.Enqueue(j);
            }
        }
        return marked;
    }

    /// <summary>
    /// ORT's <c>CreateSupportedPartitionNodeGroups</c>: a variant of Kahn's topological sort in waves.
    /// A wave takes every ready node, adding the supported ones to the current group; an unsupported node
    /// that reads an output of the group (the group's border) waits for the next wave, and so does
    /// everything downstream of it. When a wave runs dry, the group closes and the deferred nodes start
    /// the next wave.
    /// </summary>
    /// <remarks>
    /// Which wave a node lands in does not depend on the order ready nodes are taken in: an unsupported
    /// node is deferred exactly when one of its producers, all processed by then, is in the current group.
    /// In-degrees count distinct producer nodes; ORT counts edges, but decrements per edge too, so a node
    /// becomes ready at the same point.
    /// </remarks>
    private static List<List<int>> FormGroups(Node[] order, List<int>[] consumers, bool[] supported)
    {
        var inDegree = new int[order.Length];
        for (int i = 0; i < order.Length; i++)
        {
            foreach (int j in consumers[i])
            {
                inDegree[j]++;
            }
        }
        var ready = new Queue<int>(Enumerable.Range(0, order.Length).Where(i => inDegree[i] == 0));
        var nextWave = new Queue<int>();
        var groups = new List<List<int>>();
        var group = new List<int>();
        var border = new HashSet<int>();
        while (ready.Count > 0 || nextWave.Count > 0)
        {
            if (ready.Count == 0)
            {
                Close();
                (ready, nextWave) = (nextWave, ready);
                continue;
            }
            int n = ready.Dequeue();
            if (!supported[n] && border.Contains(n))
            {
                nextWave.Enqueue(n);
                continue;
            }
            if (supported[n])
            {
                group.Add(n);
                border.Remove(n);
            }
            foreach (int c in consumers[n])
            {
                if (supported[n])
                {
                    border.Add(c);
                }
                if (--inDegree[c] == 0)
                {
                    ready.Enqueue(c);
                }
            }
        }
        Close();
        return groups;

        void Close()
        {
            if (group.Count > 0)
            {
                groups.Add(group);
                group = [];
            }
            border.Clear();
        }
    }

    /// <summary>Values the nodes of <paramref name="set"/> read that none of them produces (graph inputs, initializers, other nodes' outputs).</summary>
    private static List<Value> BoundaryInputs(IReadOnlyCollection<Node> set)
    {
        var inside = new HashSet<Node>(set);
        return [.. set.SelectMany(n => n.Inputs.OfType<Value>().Concat(n.ImplicitInputs))
            .Where(v => v.Producer is not { } p || !inside.Contains(p)).Distinct()];
    }

    /// <summary>Values produced in <paramref name="set"/> that the graph outputs or a node outside it reads.</summary>
    private static List<Value> BoundaryOutputs(IReadOnlyCollection<Node> set)
    {
        var inside = new HashSet<Node>(set);
        return [.. set.SelectMany(n => n.Outputs.OfType<Value>())
            .Where(v => v.IsGraphOutput || v.Uses.Any(u => !inside.Contains(u.Node))).Distinct()];
    }

    /// <summary>
    /// Removes, until nothing changes, each node of <paramref name="set"/> that reads (or hands out) a
    /// non-constant boundary tensor whose element type is known and not in <paramref name="types"/>.
    /// Constant initializers are not partition inputs (ORT drops them), so their types do not matter.
    /// </summary>
    private static void PeelIncompatibleEdges(List<Node> set, IReadOnlyList<DataType> types, ShapeInferenceResult shapes)
    {
        bool Incompatible(Value v) => shapes.ElementTypeOf(v) is { } t && !types.Contains(t);
        while (true)
        {
            var inside = new HashSet<Node>(set);
            var drop = new HashSet<Node>();
            foreach (Value v in BoundaryInputs(set).Where(v => !Constants.IsConstant(v) && Incompatible(v)))
            {
                drop.UnionWith(v.Uses.Select(u => u.Node).Where(inside.Contains));
            }
            foreach (Value v in BoundaryOutputs(set).Where(Incompatible))
            {
                drop.Add(v.Producer!);
            }
            if (drop.Count == 0)
            {
                return;
            }
            set.RemoveAll(drop.Contains);
        }
    }
}
