using System.Globalization;
using ModelBridge.OnnxProto;

namespace ModelBridge.Ir;

public sealed partial class Graph
{
    /// <summary>A name not yet used by any value of this graph, derived from <paramref name="hint"/>.</summary>
    public string UniqueValueName(string hint)
    {
        if (!_values.ContainsKey(hint))
        {
            return hint;
        }
        for (int i = 1; ; i++)
        {
            string candidate = string.Create(CultureInfo.InvariantCulture, $"{hint}_{i}");
            if (!_values.ContainsKey(candidate))
            {
                return candidate;
            }
        }
    }

    /// <summary>A node name not yet used in this graph, derived from <paramref name="hint"/>.</summary>
    public string UniqueNodeName(string hint)
    {
        if (!_nodesByName.ContainsKey(hint))
        {
            return hint;
        }
        for (int i = 1; ; i++)
        {
            string candidate = string.Create(CultureInfo.InvariantCulture, $"{hint}_{i}");
            if (!_nodesByName.ContainsKey(candidate))
            {
                return candidate;
            }
        }
    }

    /// <summary>Appends a graph input.</summary>
    internal Value AddInput(string name, TensorType? type)
    {
        Value v = CreateValue(name);
        v.DeclaredType = type;
        v.IsGraphInput = true;
        _inputs.Add(v);
        MarkChanged();
        return v;
    }

    /// <summary>Adds a constant initializer under a fresh name derived from <paramref name="nameHint"/>.</summary>
    internal Value AddInitializer(string nameHint, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Value v = CreateValue(UniqueValueName(nameHint));
        v.Initializer = tensor;
        v.DeclaredType = new TensorType(tensor.DataType, TensorShape.Of([.. tensor.Dims]));
        _initializers.Add(v);
        MarkChanged();
        return v;
    }

    /// <summary>Removes an initializer that nothing uses any more.</summary>
    internal void RemoveInitializer(Value value)
    {
        if (value.Initializer is null)
        {
            throw new InvalidOperationException($"'{value.Name}' is not an initializer.");
        }
        if (value.UseList.Count > 0 || value.IsGraphOutput)
        {
            throw new InvalidOperationException($"Initializer '{value.Name}' is still used by {value.UseList.Count} node(s).");
        }
        _initializers.Remove(value);
        if (value.IsGraphInput)
        {
            _inputs.Remove(value);
        }
        _values.Remove(value.Name);
        MarkChanged();
    }

    /// <summary>
    /// Adds a node. Output values are created with the given names, which must be unused.
    /// </summary>
    /// <param name="opType">Operator type.</param>
    /// <param name="inputs">Inputs; null for an omitted optional input.</param>
    /// <param name="outputNames">Names of the outputs to create; null or empty for an omitted optional output.</param>
    /// <param name="name">Node name; made unique. Defaults to the first output's name.</param>
    /// <param name="domain">Operator domain; empty for ONNX.</param>
    /// <param name="attributes">Attributes.</param>
    /// <param name="placeAfter">A node that the new one should follow in the saved order when dependencies allow.</param>
    internal Node AddNode(string opType, IEnumerable<Value?> inputs, IEnumerable<string?> outputNames, string? name = null,
        string domain = "", IEnumerable<AttributeValue>? attributes = null, Node? placeAfter = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        string[] outs = [.. outputNames.Select(o => o ?? string.Empty)];
        foreach (string o in outs.Where(o => o.Length > 0))
        {
            if (_values.ContainsKey(o))
            {
                throw new InvalidOperationException($"Cannot add {opType}: a value named '{o}' already exists in graph '{Name}'.");
            }
        }
        string nodeName = UniqueNodeName(name ?? outs.FirstOrDefault(o => o.Length > 0) ?? opType);
        var node = new Node(this, nodeName, opType, domain, attributes ?? [], null);
        AttachNode(node, placeAfter);
        foreach (Value? input in inputs)
        {
            AppendInput(node, input);
        }
        foreach (string o in outs)
        {
            AppendOutput(node, o.Length == 0 ? null : o);
        }
        MarkChanged();
        return node;
    }

    /// <summary>Removes a node whose outputs nobody reads; its inputs lose one use each.</summary>
    internal void RemoveNode(Node node)
    {
        CheckOwned(node);
        foreach (Value? o in node.OutputList)
        {
            if (o is null)
            {
                continue;
            }
            if (o.UseList.Count > 0 || o.IsGraphOutput)
            {
                throw new InvalidOperationException($"Cannot remove {node}: output '{o.Name}' is still used.");
            }
        }
        for (int i = 0; i < node.InputList.Count; i++)
        {
            node.InputList[i]?.UseList.Remove(new Use(node, i));
        }
        foreach (Value v in node.ImplicitInputList)
        {
            v.UseList.Remove(new Use(node, -1));
        }
        foreach (Value? o in node.OutputList)
        {
            if (o is not null)
            {
                _values.Remove(o.Name);
                o.Producer = null;
            }
        }
        if (node.Name.Length > 0 && _nodesByName.TryGetValue(node.Name, out Node? named) && named == node)
        {
            _nodesByName.Remove(node.Name);
        }
        node.IsAlive = false;
        if (++_deadNodes > 64 && _deadNodes > _nodes.Count / 2)
        {
            _nodes.RemoveAll(n => !n.IsAlive);
            _deadNodes = 0;
        }
        MarkChanged();
    }

    /// <summary>Points input slot <paramref name="index"/> of <paramref name="node"/> at <paramref name="value"/>.</summary>
    internal void SetInput(Node node, int index, Value? value)
    {
        CheckOwned(node);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        while (node.InputList.Count <= index)
        {
            node.InputList.Add(null);
        }
        node.InputList[index]?.UseList.Remove(new Use(node, index));
        node.InputList[index] = value;
        if (value is not null)
        {
            CheckOwned(value);
            value.UseList.Add(new Use(node, index));
        }
        TrimTrailingNullInputs(node);
        MarkChanged();
    }

    /// <summary>Appends an input to <paramref name="node"/>.</summary>
    internal void AddInputToNode(Node node, Value? value)
    {
        CheckOwned(node);
        AppendInput(node, value);
        MarkChanged();
    }

    /// <summary>
    /// Makes every reader of <paramref name="from"/> read <paramref name="to"/> instead, including
    /// the graph's output list. Subgraph captures cannot be redirected and make this throw.
    /// </summary>
    internal void ReplaceAllUsesWith(Value from, Value to)
    {
        CheckOwned(from);
        CheckOwned(to);
        if (from == to)
        {
            return;
        }
        if (from.UseList.Any(u => u.IsImplicit))
        {
            throw new InvalidOperationException($"'{from.Name}' is captured by a subgraph; its uses cannot be redirected.");
        }
        foreach (Use u in from.UseList.ToArray())
        {
            u.Node.InputList[u.InputIndex] = to;
            to.UseList.Add(u);
        }
        from.UseList.Clear();
        if (from.IsGraphOutput)
        {
            for (int i = 0; i < _outputs.Count; i++)
            {
                if (_outputs[i] == from)
                {
                    _outputs[i] = to;
                }
            }
            from.IsGraphOutput = false;
            to.IsGraphOutput = true;
        }
        MarkChanged();
    }

    /// <summary>Renames a value; fails when the name is taken or a subgraph captures the value by name.</summary>
    internal void RenameValue(Value value, string newName)
    {
        CheckOwned(value);
        ArgumentException.ThrowIfNullOrEmpty(newName);
        if (value.Name == newName)
        {
            return;
        }
        if (_values.ContainsKey(newName))
        {
            throw new InvalidOperationException($"Cannot rename '{value.Name}' to '{newName}': the name is taken.");
        }
        if (value.UseList.Any(u => u.IsImplicit))
        {
            throw new InvalidOperationException($"Cannot rename '{value.Name}': a subgraph refers to it by name.");
        }
        _values.Remove(value.Name);
        value.Name = newName;
        _values.Add(newName, value);
        MarkChanged();
    }

    /// <summary>Renames a node (names are made unique by the caller's choice; a taken name throws).</summary>
    internal void RenameNode(Node node, string newName)
    {
        CheckOwned(node);
        if (node.Name == newName)
        {
            return;
        }
        if (newName.Length > 0 && _nodesByName.ContainsKey(newName))
        {
            throw new InvalidOperationException($"Cannot rename node '{node.Name}' to '{newName}': the name is taken.");
        }
        if (_nodesByName.TryGetValue(node.Name, out Node? n) && n == node)
        {
            _nodesByName.Remove(node.Name);
        }
        node.Name = newName;
        if (newName.Length > 0)
        {
            _nodesByName[newName] = node;
        }
        MarkChanged();
    }

    /// <summary>Replaces the graph's output list.</summary>
    internal void SetOutputs(IEnumerable<Value> outputs)
    {
        Value[] list = [.. outputs];
        foreach (Value v in list)
        {
            CheckOwned(v);
        }
        foreach (Value v in _outputs)
        {
            v.IsGraphOutput = false;
        }
        _outputs.Clear();
        _outputs.AddRange(list);
        foreach (Value v in list)
        {
            v.IsGraphOutput = true;
        }
        MarkChanged();
    }

    /// <summary>Removes a graph input that nothing reads.</summary>
    internal void RemoveInput(Value value)
    {
        CheckOwned(value);
        if (!value.IsGraphInput)
        {
            throw new InvalidOperationException($"'{value.Name}' is not a graph input.");
        }
        _inputs.Remove(value);
        value.IsGraphInput = false;
        if (value.Initializer is null && value.UseList.Count == 0 && !value.IsGraphOutput)
        {
            _values.Remove(value.Name);
        }
        MarkChanged();
    }

    // ---- construction helpers shared with the importer ----

    internal Value CreateValue(string name)
    {
        var v = new Value(this, name);
        _values.Add(name, v);
        return v;
    }

    internal Value GetOrCreateValue(string name) => _values.TryGetValue(name, out Value? v) ? v : CreateValue(name);

    internal void AttachNode(Node node, Node? placeAfter)
    {
        node.Sequence = ++_sequence;
        node.Order = placeAfter?.Order ?? node.Sequence;
        _nodes.Add(node);
        if (node.Name.Length > 0)
        {
            _nodesByName.TryAdd(node.Name, node);
        }
    }

    internal void AppendInput(Node node, Value? value)
    {
        int index = node.InputList.Count;
        node.InputList.Add(value);
        value?.UseList.Add(new Use(node, index));
    }

    internal Value? AppendOutput(Node node, string? name)
    {
        if (name is null)
        {
            node.OutputList.Add(null);
            return null;
        }
        Value v = GetOrCreateValue(name);
        v.Producer = node;
        v.ProducerOutputIndex = node.OutputList.Count;
        node.OutputList.Add(v);
        return v;
    }

    internal void AddImplicitInput(Node node, Value value)
    {
        node.ImplicitInputList.Add(value);
        value.UseList.Add(new Use(node, -1));
    }

    internal void RegisterInput(Value v)
    {
        v.IsGraphInput = true;
        _inputs.Add(v);
    }

    internal void RegisterOutput(Value v)
    {
        v.IsGraphOutput = true;
        _outputs.Add(v);
    }

    internal void RegisterInitializer(Value v, Tensor t)
    {
        v.Initializer = t;
        _initializers.Add(v);
    }

    private static void TrimTrailingNullInputs(Node node)
    {
        while (node.InputList.Count > 0 && node.InputList[^1] is null)
        {
            node.InputList.RemoveAt(node.InputList.Count - 1);
        }
    }

    private void CheckOwned(Node node)
    {
        if (node.Graph != this || !node.IsAlive)
        {
            throw new InvalidOperationException($"{node} is not a live node of graph '{Name}'.");
        }
    }

    private void CheckOwned(Value value)
    {
        if (value.Graph != this || !_values.TryGetValue(value.Name, out Value? v) || v != value)
        {
            throw new InvalidOperationException($"Value '{value.Name}' does not belong to graph '{Name}'.");
        }
    }
}
