using ModelBridge.Errors;

namespace ModelBridge.Ir;

public sealed partial class Graph
{
    /// <summary>
    /// Live nodes in a deterministic topological order: among the nodes whose inputs are ready,
    /// the one with the smallest position key goes first, so an already-sorted graph keeps its
    /// order and new nodes sit next to the node they were placed after.
    /// </summary>
    /// <exception cref="InvalidModelException">The graph has a cycle; the message names the nodes on it.</exception>
    public IReadOnlyList<Node> TopologicalOrder()
    {
        if (TryTopologicalOrder(out List<Node> order, out List<Node>? cycle))
        {
            return order;
        }
        string path = string.Join(" -> ", cycle!.Select(n => $"{n.OpType} '{n.Name}'"));
        throw new InvalidModelException($"Graph '{Name}' has a cycle: {path}.", cycle![0].Name, cycle[0].OpType);
    }

    internal bool TryTopologicalOrder(out List<Node> order, out List<Node>? cycle)
    {
        var live = Nodes.ToList();
        var pending = new Dictionary<Node, int>(live.Count);
        var ready = new PriorityQueue<Node, (double, long)>();
        foreach (Node n in live)
        {
            int deps = 0;
            foreach (Value? v in n.InputList.Concat(n.ImplicitInputList))
            {
                if (v?.Producer is { IsAlive: true })
                {
                    deps++;
                }
            }
            pending[n] = deps;
            if (deps == 0)
            {
                ready.Enqueue(n, (n.Order, n.Sequence));
            }
        }
        order = new List<Node>(live.Count);
        while (ready.TryDequeue(out Node? n, out _))
        {
            order.Add(n);
            foreach (Value? o in n.OutputList)
            {
                if (o is null)
                {
                    continue;
                }
                foreach (Use u in o.UseList)
                {
                    if (--pending[u.Node] == 0)
                    {
                        ready.Enqueue(u.Node, (u.Node.Order, u.Node.Sequence));
                    }
                }
            }
        }
        if (order.Count == live.Count)
        {
            cycle = null;
            return true;
        }
        cycle = FindCycle(pending.Where(kv => kv.Value > 0).Select(kv => kv.Key).OrderBy(n => n.Sequence).ToList());
        return false;
    }

    /// <summary>Walks producer edges among the stuck nodes until one repeats.</summary>
    private static List<Node> FindCycle(List<Node> stuck)
    {
        var stuckSet = stuck.ToHashSet();
        Node current = stuck[0];
        var seenAt = new Dictionary<Node, int>();
        var path = new List<Node>();
        while (!seenAt.ContainsKey(current))
        {
            seenAt[current] = path.Count;
            path.Add(current);
            Node? next = current.InputList.Concat(current.ImplicitInputList)
                .Select(v => v?.Producer)
                .FirstOrDefault(p => p is not null && stuckSet.Contains(p));
            if (next is null)
            {
                return path;
            }
            current = next;
        }
        List<Node> loop = path.GetRange(seenAt[current], path.Count - seenAt[current]);
        loop.Reverse();
        loop.Add(loop[0]);
        return loop;
    }
}
