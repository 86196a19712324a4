using System.Globalization;
using ModelBridge.Ir;
using ModelBridge.Shapes;

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

    private ShapeInferenceResult? _shapes;
    private bool _refreshShapes = true;

    internal GraphRewriter(Graph graph, ProvenanceMap provenance, ShapeInferenceOptions? shapeOptions = null)
    {
        Graph = graph;
        Provenance = provenance;
        // Matching wants what is known: a malformed node leaves its outputs unknown rather than failing every pass.
        ShapeOptions = (shapeOptions ?? ShapeInferenceOptions.Default) with { Lenient = true };
        View = new RewriteView(this);
    }

    /// <summary>The graph being rewritten.</summary>
    public Graph Graph { get; }

    /// <summary>The graph as matching sees it: read-only, with <see cref="Shapes"/> as its shape facts.</summary>
    public IReadOnlyGraph View { get; }

    /// <summary>How shapes are inferred for this rewrite (the conversion's pinned dims).</summary>
    public ShapeInferenceOptions ShapeOptions { get; }

    /// <summary>
    /// Shape facts of the graph, with <see cref="ShapeOptions"/>, never written into the IR: inferred at
    /// the start of each pass (when the graph changed since), then kept for the pass's rewrites. A value a
    /// rewrite replaces passes its type to the replacement (<see cref="Replace(Value, Value)"/>); other new values are
    /// unknown until the next pass, as matching must not depend on what the same pass just built.
    /// </summary>
    public ShapeInferenceResult Shapes
    {
        get
        {
            if (_shapes is null || (_refreshShapes && _shapes.GraphVersion != Graph.Version))
            {
                _shapes = ShapeInference.Run(Graph, ShapeOptions);
            }
            _refreshShapes = false;
            return _shapes;
        }
    }

    /// <summary>Makes the next read of <see cref="Shapes"/> infer afresh if the graph changed (the pass manager calls it as each pass starts).</summary>
    internal void RefreshShapes() => _refreshShapes = true;

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

    /// <summary>Nodes changed in place by the current pass.</summary>
    internal int NodesModified { get; set; }

    /// <summary>Why the current pass did not apply, by node name (the pass manager keeps the last round's).</summary>
    internal Dictionary<string, string> Refusals { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Notes of the current pass (see <see cref="Note"/>).</summary>
    internal List<PassNote> Notes { get; set; } = [];

    /// <summary>Operators the current pass declared it may create (null: not enforced).</summary>
    internal IReadOnlyList<string>? DeclaredOps { get; set; }

    /// <summary>Records what the current rewrite did, for the pass statistics (<see cref="PassStatistics.Notes"/>).</summary>
    public void Note(PassNote note)
    {
        ArgumentNullException.ThrowIfNull(note);
        Notes.Add(note);
    }

    /// <summary>
    /// Creates a node whose outputs are internal to the rewrite (derived from its inputs) until
    /// <see cref="Replace(Value, Value)"/> declares one of them equal to an original value.
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
        if (DeclaredOps is { } declared && !declared.Contains(opType))
        {
            // GeneratedOps is what profiles are checked against statically; a pass must not create anything else.
            throw new InvalidOperationException($"Pass '{PassId}' creates a {opType} node but does not declare {opType} among its GeneratedOps.");
        }
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
        // The replacement computes the same tensor, so it has the same declared type (graph outputs keep theirs)
        // and, for the rest of this pass, the same shape facts.
        replacement.DeclaredType ??= old.DeclaredType;
        _shapes?.Alias(replacement, old);
        Graph.ReplaceAllUsesWith(old, replacement);
        if (inherit)
        {
            _pendingRenames.Add((replacement, old.Name, old.Producer?.Name));
        }
    }

    /// <summary>
    /// <see cref="Replace(Value, Value)"/> with a contract of its own for this value instead of the pass's
    /// (a pass whose error differs per rewrite, such as a slimming plan with one measured error per layer).
    /// </summary>
    public void Replace(Value old, Value replacement, NumericContract contract)
    {
        ArgumentNullException.ThrowIfNull(contract);
        NumericContract passContract = Contract;
        Contract = contract;
        try
        {
            Replace(old, replacement);
        }
        finally
        {
            Contract = passContract;
        }
    }

    /// <summary>
    /// Records that <paramref name="value"/>, which this pass does not recompute, now differs from the
    /// original value it stands for by up to <paramref name="contract"/> more than before: an approximation
    /// upstream (a slimmed convolution) carries its error into it. The graph is not changed.
    /// </summary>
    public void Widen(Value value, NumericContract contract)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(contract);
        if (value.Graph != Graph)
        {
            throw new InvalidOperationException($"Value '{value.Name}' does not belong to graph '{Graph.Name}'.");
        }
        Provenance.SetEquivalent(value.Name, value.Name, PassId, contract);
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

    /// <summary>
    /// Changes <paramref name="node"/> in place (attributes, inputs) through <paramref name="edit"/>, like
    /// MLIR's <c>modifyOpInPlace</c>. The node's outputs keep their names; each records this pass and
    /// its contract, since they may now be computed differently.
    /// </summary>
    /// <param name="node">A live node of the graph.</param>
    /// <param name="edit">The edits; the <see cref="NodeEdit"/> is valid only during the call.</param>
    public void ModifyInPlace(Node node, Action<NodeEdit> edit)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(edit);
        if (node.Graph != Graph || !node.IsAlive)
        {
            throw new InvalidOperationException($"{node} is not a live node of graph '{Graph.Name}'.");
        }
        var e = new NodeEdit(Graph, node);
        try
        {
            edit(e);
        }
        finally
        {
            e.Close();
        }
        if (!e.Changed)
        {
            return;
        }
        NodesModified++;
        foreach (Value? o in node.Outputs)
        {
            if (o is not null)
            {
                Provenance.SetEquivalent(o.Name, o.Name, PassId, Contract);
            }
        }
    }

    /// <summary>Points input <paramref name="index"/> of <paramref name="node"/> at <paramref name="value"/>.</summary>
    public void SetInput(Node node, int index, Value? value) => ModifyInPlace(node, e => e.SetInput(index, value));

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
    /// Raises the model's import of <paramref name="domain"/> to <paramref name="version"/> (reserved for
    /// <see cref="Passes.UpgradeOpset"/>, which converts the nodes whose signature changed first).
    /// </summary>
    internal void SetOpsetVersion(string domain, long version)
    {
        Model model = Graph.Model ?? throw new InvalidOperationException($"Graph '{Graph.Name}' belongs to no model; it has no opset imports to raise.");
        model.SetOpsetVersion(domain, version);
        Graph.MarkChanged();
    }

    /// <summary>Takes <paramref name="input"/> off the graph's input list; an initializer stays as a constant (reserved for interface passes).</summary>
    internal void RemoveGraphInput(Value input) => Graph.RemoveInput(input);


    /// <summary>
    /// Renames an internal value and moves its tensor-map entry along, so the map keeps pointing at
    /// the original value. Graph inputs and outputs keep their names: only
    /// <see cref="Surgery.RenameOutputs"/> may rename those.
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

    /// <summary>Renames a graph input or output (reserved for <see cref="Surgery.RenameOutputs"/>).</summary>
    internal void RenameInterfaceValue(Value value, string newName) => RenameAnyValue(value, newName);

    /// <summary>
    /// Appends a graph input named <paramref name="name"/> (or a free name derived from it); reserved for
    /// interface edits: <see cref="Surgery.PostprocessSplit"/>, which turns the tensors it cuts into the tail
    /// model's inputs, and verify's region models.
    /// </summary>
    internal Value AddGraphInput(string name, TensorType? type) => Graph.AddInput(Graph.UniqueValueName(name), type);

    /// <summary>Replaces the graph's output list (reserved for interface edits: <see cref="Surgery.PostprocessSplit"/>, verify's region models).</summary>
    internal void SetGraphOutputs(IReadOnlyList<Value> outputs) => Graph.SetOutputs(outputs);

    /// <summary>Removes <paramref name="outputs"/> from the graph's output list (reserved for <see cref="Surgery.PruneOutputs"/>).</summary>
    internal void RemoveOutputs(IReadOnlyCollection<Value> outputs) => Graph.SetOutputs(Graph.Outputs.Where(o => !outputs.Contains(o)).ToList());

    /// <summary>Puts the graph outputs in a new order (reserved for <see cref="Surgery.RenameOutputs"/>).</summary>
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

    /// <summary>Declares the type of a value (written to value_info or the graph's inputs and outputs on save).</summary>
    public void DeclareType(Value value, TensorType? type)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Graph != Graph)
        {
            throw new InvalidOperationException($"Value '{value.Name}' does not belong to graph '{Graph.Name}'.");
        }
        value.DeclaredType = type;
    }

    /// <summary>
    /// Runs <paramref name="edit"/> against <paramref name="graph"/> as one rewrite named
    /// <paramref name="editId"/>: every edit goes through a rewriter, so indices, names and the tensor map
    /// stay consistent, and deferred renames are applied at the end.
    /// </summary>
    /// <param name="graph">The graph to edit.</param>
    /// <param name="editId">Recorded as the pass id in the tensor map.</param>
    /// <param name="edit">The edits.</param>
    /// <param name="provenance">The tensor map to maintain; a fresh identity map when null.</param>
    /// <param name="shapeOptions">How shapes are inferred during the edit.</param>
    /// <returns>The tensor map.</returns>
    public static ProvenanceMap Edit(Graph graph, string editId, Action<GraphRewriter> edit, ProvenanceMap? provenance = null,
        ShapeInferenceOptions? shapeOptions = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentException.ThrowIfNullOrEmpty(editId);
        ArgumentNullException.ThrowIfNull(edit);
        provenance ??= ProvenanceMap.Identity(graph);
        var rewriter = new GraphRewriter(graph, provenance, shapeOptions) { PassId = editId, RootName = graph.Name.Length > 0 ? graph.Name : "graph" };
        edit(rewriter);
        rewriter.Commit();
        return provenance;
    }

    /// <summary>The read-only graph that matching sees, with the rewriter's shape facts.</summary>
    private sealed class RewriteView(GraphRewriter rewriter) : IReadOnlyGraph
    {
        public IReadOnlyList<Value> Inputs => rewriter.Graph.Inputs;

        public IReadOnlyList<Value> Outputs => rewriter.Graph.Outputs;

        public IEnumerable<Node> Nodes => rewriter.Graph.Nodes;

        public ShapeInferenceResult Shapes => rewriter.Shapes;

        public Value? FindValue(string name) => rewriter.Graph.FindValue(name);

        public Node? FindNode(string name) => rewriter.Graph.FindNode(name);

        public long? OpsetVersion(string domain = "") => rewriter.Graph.OpsetVersion(domain);

        public IReadOnlyList<Node> TopologicalOrder() => rewriter.Graph.TopologicalOrder();
    }
}
