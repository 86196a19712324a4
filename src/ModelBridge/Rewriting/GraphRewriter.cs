using System.Globalization;
using ModelBridge.Ir;
using ModelBridge.OnnxProto;

namespace ModelBridge.Rewriting;

/// <summary>
/// The only way passes edit a graph: keeps def-use indices in sync (through <see cref="Graph"/>),
/// names new values deterministically as <c>{rootNode}/{passId}/{role}</c>, and records the
/// provenance of every value it creates or replaces.
/// </summary>
public sealed class GraphRewriter
{
    private readonly List<(Value Replacement, string InheritedName, string? ProducerName)> _pendingRenames = [];
    private readonly HashSet<Value> _created = [];

    internal GraphRewriter(Graph graph, ProvenanceMap provenance)
    {
        Graph = graph;
        Provenance = provenance;
    }

    /// <summary>The graph being rewritten.</summary>
    public Graph Graph { get; }

    /// <summary>The tensor map being maintained.</summary>
    public ProvenanceMap Provenance { get; }

    /// <summary>Id of the pass currently rewriting.</summary>
    public string PassId { get; internal set; } = string.Empty;

    /// <summary>That pass's numeric contract.</summary>
    internal NumericContract Contract { get; set; } = NumericContract.Exact;

    /// <summary>The node the current match is rooted at (prefix of new names).</summary>
    internal string RootName { get; set; } = "graph";

    /// <summary>Nodes added by the current pass.</summary>
    internal int NodesAdded { get; set; }

    /// <summary>Nodes removed by the current pass.</summary>
    internal int NodesRemoved { get; set; }

    /// <summary>
    /// Creates a node whose outputs are internal to the rewrite (derived from its inputs) until
    /// <see cref="Replace"/> declares one of them equal to an original value.
    /// </summary>
    /// <param name="opType">Operator type.</param>
    /// <param name="inputs">Inputs (null for an omitted optional input).</param>
    /// <param name="role">Role of the node in the rewrite; names its outputs.</param>
    /// <param name="outputCount">Number of outputs.</param>
    /// <param name="attributes">Attributes.</param>
    /// <param name="derivedFrom">Values the new ones stand for (defaults to the inputs).</param>
    /// <param name="placeAfter">Node to follow in the saved order.</param>
    public Node CreateNode(string opType, IEnumerable<Value?> inputs, string role, int outputCount = 1,
        IEnumerable<AttributeValue>? attributes = null, IEnumerable<Value>? derivedFrom = null, Node? placeAfter = null)
    {
        Value?[] ins = [.. inputs];
        string baseName = $"{RootName}/{PassId}/{role}";
        string nodeName = Graph.UniqueNodeName(baseName);
        var outs = new string[outputCount];
        for (int i = 0; i < outputCount; i++)
        {
            outs[i] = Graph.UniqueValueName(i == 0 ? nodeName : string.Create(CultureInfo.InvariantCulture, $"{nodeName}:{i}"));
        }
        Node node = Graph.AddNode(opType, ins, outs, nodeName, attributes: attributes, placeAfter: placeAfter);
        NodesAdded++;
        string[] from = [.. (derivedFrom ?? ins.Where(v => v is not null)!).Select(v => v!.Name)];
        foreach (Value? o in node.Outputs)
        {
            if (o is null)
            {
                continue;
            }
            _created.Add(o);
            Provenance.SetInternal(o.Name, from, PassId);
        }
        return node;
    }

    /// <summary>Adds a constant initializer named <c>{root}/{pass}/{role}</c>.</summary>
    public Value CreateInitializer(string role, Tensor tensor)
    {
        Value v = Graph.AddInitializer($"{RootName}/{PassId}/{role}", tensor);
        _created.Add(v);
        Provenance.SetInternal(v.Name, [], PassId);
        return v;
    }

    /// <summary>
    /// Declares that <paramref name="replacement"/> computes what <paramref name="old"/> did (within
    /// the pass's contract) and makes every reader of <paramref name="old"/> read it instead. A value
    /// created by this rewrite, or one replacing a graph output, takes over <paramref name="old"/>'s
    /// name once <paramref name="old"/>'s producer is erased, so fused nodes keep the output names of
    /// the nodes they replace and graph outputs never change name.
    /// </summary>
    public void Replace(Value old, Value replacement)
    {
        ArgumentNullException.ThrowIfNull(old);
        ArgumentNullException.ThrowIfNull(replacement);
        if (old == replacement)
        {
            return;
        }
        bool inherit = _created.Contains(replacement) || old.IsGraphOutput;
        if (old.IsGraphOutput && (replacement.IsGraphInput || replacement.IsGraphOutput))
        {
            throw new InvalidOperationException($"Pass '{PassId}' would rename graph output '{old.Name}' to '{replacement.Name}'; it must not match here.");
        }
        if (_created.Contains(replacement))
        {
            // A new value stands for the old one; an existing value already has its own origin.
            Provenance.SetEquivalent(replacement.Name, old.Name, PassId, Contract);
        }
        // The replacement computes the same tensor, so it has the same type; new values have none yet.
        replacement.Type ??= old.Type;
        Graph.ReplaceAllUsesWith(old, replacement);
        if (inherit)
        {
            _pendingRenames.Add((replacement, old.Name, old.Producer?.Name));
        }
    }

    /// <summary>
    /// Makes readers of <paramref name="old"/> read <paramref name="identical"/>, a value already known
    /// to hold the same tensor (deduplicated initializers); provenance is left as it is.
    /// </summary>
    public void RedirectUses(Value old, Value identical)
    {
        if (old.IsGraphOutput)
        {
            throw new InvalidOperationException($"Pass '{PassId}' cannot redirect graph output '{old.Name}'.");
        }
        Graph.ReplaceAllUsesWith(old, identical);
    }

    /// <summary>Records that <paramref name="value"/> equals a channel slice of what <paramref name="original"/> stood for.</summary>
    public void DeclareSlice(Value value, Value original, ChannelSlice slice) =>
        Provenance.SetSlice(value.Name, original.Name, slice, PassId, Contract);

    /// <summary>Points input <paramref name="index"/> of <paramref name="node"/> at <paramref name="value"/>.</summary>
    public void SetInput(Node node, int index, Value? value) => Graph.SetInput(node, index, value);

    /// <summary>Removes a node whose outputs are unused.</summary>
    public void Erase(Node node)
    {
        Graph.RemoveNode(node);
        NodesRemoved++;
    }

    /// <summary>
    /// Erases, repeatedly, each of <paramref name="nodes"/> whose outputs nobody reads (the matched
    /// nodes of a rewrite, once their results have been replaced).
    /// </summary>
    public void EraseIfUnused(IEnumerable<Node> nodes)
    {
        var pending = nodes.Distinct().ToList();
        bool progress = true;
        while (progress)
        {
            progress = false;
            foreach (Node n in pending.ToList())
            {
                if (!n.IsAlive)
                {
                    pending.Remove(n);
                    continue;
                }
                if (n.Outputs.All(o => o is null || (o.Uses.Count == 0 && !o.IsGraphOutput)))
                {
                    Erase(n);
                    pending.Remove(n);
                    progress = true;
                }
            }
        }
    }

    /// <summary>Removes an initializer nobody reads any more.</summary>
    public void EraseInitializer(Value initializer) => Graph.RemoveInitializer(initializer);

    /// <summary>
    /// Renames an internal value and moves its tensor-map entry along, so the map keeps pointing at
    /// the original value. Graph inputs and outputs keep their names: only
    /// <see cref="Passes.RenameOutputs"/> may rename those.
    /// </summary>
    /// <exception cref="InvalidOperationException">The value is a graph input or output, or the name is taken.</exception>
    public void RenameValue(Value value, string newName)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.IsGraphInput || value.IsGraphOutput)
        {
            throw new InvalidOperationException($"Pass '{PassId}' cannot rename graph input or output '{value.Name}'; only rename-outputs changes interface names.");
        }
        RenameAnyValue(value, newName);
    }

    /// <summary>Renames a node (node names carry no provenance).</summary>
    /// <exception cref="InvalidOperationException">The name is taken.</exception>
    public void RenameNode(Node node, string newName) => Graph.RenameNode(node, newName);

    /// <summary>Renames a graph input or output (reserved for <see cref="Passes.RenameOutputs"/>).</summary>
    internal void RenameInterfaceValue(Value value, string newName) => RenameAnyValue(value, newName);

    /// <summary>Removes <paramref name="outputs"/> from the graph's output list (reserved for <see cref="Passes.PruneOutputs"/>).</summary>
    internal void RemoveOutputs(IReadOnlyCollection<Value> outputs) => Graph.SetOutputs(Graph.Outputs.Where(o => !outputs.Contains(o)).ToList());

    /// <summary>Puts the graph outputs in a new order (reserved for <see cref="Passes.RenameOutputs"/>).</summary>
    internal void ReorderOutputs(IReadOnlyList<Value> order)
    {
        if (order.Count != Graph.Outputs.Count || order.Except(Graph.Outputs).Any())
        {
            throw new ArgumentException("The new order must hold exactly the current graph outputs.", nameof(order));
        }
        Graph.SetOutputs(order);
    }

    private void RenameAnyValue(Value value, string newName)
    {
        string from = value.Name;
        Graph.RenameValue(value, newName);
        Provenance.Rename(from, newName);
    }

    /// <summary>Applies deferred name inheritance; called by the pass manager after each rewrite.</summary>
    internal void Commit()
    {
        foreach (var (replacement, name, producerName) in _pendingRenames)
        {
            if (Graph.FindValue(replacement.Name) != replacement || Graph.FindValue(name) is not null || replacement.IsGraphInput)
            {
                continue;
            }
            string from = replacement.Name;
            Graph.RenameValue(replacement, name);
            Provenance.Rename(from, name);
            if (replacement.Producer is { } p && p.Outputs.Count == 1 && p.Name.StartsWith(RootName + "/", StringComparison.Ordinal))
            {
                // The fused node takes the name of the node whose output it now carries.
                if (producerName is { Length: > 0 } && Graph.FindNode(producerName) is null)
                {
                    Graph.RenameNode(p, producerName);
                }
            }
        }
        _pendingRenames.Clear();
        _created.Clear();
    }
}
