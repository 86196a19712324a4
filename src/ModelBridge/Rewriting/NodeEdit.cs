using ModelBridge.Ir;

namespace ModelBridge.Rewriting;

/// <summary>
/// The edits <see cref="GraphRewriter.ModifyInPlace"/> allows on one node: set or remove attributes and
/// re-point inputs. Valid only inside the callback it is handed to.
/// </summary>
public sealed class NodeEdit
{
    private readonly Graph _graph;
    private bool _open = true;

    internal NodeEdit(Graph graph, Node node)
    {
        _graph = graph;
        Node = node;
    }

    /// <summary>The node being edited.</summary>
    public Node Node { get; }

    /// <summary>True once any edit was made.</summary>
    internal bool Changed { get; private set; }

    /// <summary>Sets (or replaces) an attribute.</summary>
    public void SetAttribute(AttributeValue attribute)
    {
        ArgumentNullException.ThrowIfNull(attribute);
        CheckOpen();
        Node.SetAttribute(attribute);
        Changed = true;
    }

    /// <summary>Removes an attribute; returns false when it was absent.</summary>
    public bool RemoveAttribute(string name)
    {
        CheckOpen();
        bool removed = Node.RemoveAttribute(name);
        Changed |= removed;
        return removed;
    }

    /// <summary>Points input slot <paramref name="index"/> at <paramref name="value"/> (null omits an optional input).</summary>
    public void SetInput(int index, Value? value)
    {
        CheckOpen();
        _graph.SetInput(Node, index, value);
        Changed = true;
    }

    internal void Close() => _open = false;

    private void CheckOpen()
    {
        if (!_open)
        {
            throw new InvalidOperationException($"The edit of {Node} is over; edit nodes only inside GraphRewriter.ModifyInPlace.");
        }
    }
}
