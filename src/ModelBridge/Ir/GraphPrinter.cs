using System.Globalization;
using System.Text;

namespace ModelBridge.Ir;

/// <summary>
/// A deterministic, human-readable text form of a graph (for goldens and debugging):
/// <code>
/// graph main (opset 21)
///   input  %x: float[1,8,4,4]
///   init   %w: float[8] = [1, 1, ...]
///   %y = GroupNormalization(%x, %w, %b) {epsilon=1e-05, num_groups=2}
///   output %y: float[1,8,4,4]
/// </code>
/// </summary>
public static class GraphPrinter
{
    /// <summary>Prints <paramref name="graph"/> in topological order.</summary>
    /// <param name="graph">The graph.</param>
    /// <param name="shapes">
    /// Shape facts to show for the inputs and outputs; when null, their declared types are shown (<c>?</c>
    /// where none is declared).
    /// </param>
    /// <param name="nodeNames">Append each node's name (<c># name</c>, <c>''</c> when unnamed) to its line.</param>
    public static string Print(Graph graph, Shapes.ShapeInferenceResult? shapes = null, bool nodeNames = false)
    {
        ArgumentNullException.ThrowIfNull(graph);
        string TypeOf(Value v) => (shapes is null ? v.DeclaredType : shapes.TypeOf(v))?.ToString() ?? "?";
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"graph {graph.Name} (opset {graph.OpsetVersion("")?.ToString(CultureInfo.InvariantCulture) ?? "?"})\n");
        foreach (Value v in graph.Inputs.Where(v => v.Initializer is null))
        {
            sb.Append(CultureInfo.InvariantCulture, $"  input  %{v.Name}: {TypeOf(v)}\n");
        }
        foreach (Value v in graph.Initializers.OrderBy(v => v.Name, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture, $"  init   %{v.Name}: {v.Initializer} = {Preview(v.Initializer!)}\n");
        }
        foreach (Node n in graph.TopologicalOrder())
        {
            string outs = string.Join(", ", n.Outputs.Select(o => o is null ? "_" : "%" + o.Name));
            string ins = string.Join(", ", n.Inputs.Select(i => i is null ? "_" : "%" + i.Name));
            string op = n.IsStandardDomain ? n.OpType : $"{n.Domain}::{n.OpType}";
            string attrs = n.Attributes.Count == 0 ? string.Empty
                : " {" + string.Join(", ", n.Attributes.OrderBy(a => a.Name, StringComparer.Ordinal).Select(a => a.ToString())) + "}";
            string name = nodeNames ? $"  # '{n.Name}'" : string.Empty;
            sb.Append(CultureInfo.InvariantCulture, $"  {outs} = {op}({ins}){attrs}{name}\n");
        }
        foreach (Value v in graph.Outputs)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  output %{v.Name}: {TypeOf(v)}\n");
        }
        return sb.ToString();
    }

    private static string Preview(Tensor t)
    {
        if (t.DataType == DataType.String || t.ElementCount > 8)
        {
            return t.ElementCount > 8 ? $"<{t.ElementCount} values>" : "<strings>";
        }
        try
        {
            return DataTypes.IsFloatingPoint(t.DataType)
                ? "[" + string.Join(", ", t.ToFloatArray().Select(f => f.ToString("G6", CultureInfo.InvariantCulture))) + "]"
                : "[" + string.Join(", ", t.ToInt64Array()) + "]";
        }
        catch (NotSupportedException)
        {
            return "<?>";
        }
    }
}
