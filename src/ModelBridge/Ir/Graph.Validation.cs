using System.Globalization;
using System.Text;
using ModelBridge.Errors;

namespace ModelBridge.Ir;

/// <summary>One problem found by <see cref="Graph.FindProblems"/>.</summary>
/// <param name="Message">What is wrong, naming the node or tensor.</param>
/// <param name="NodeName">The node involved, if any.</param>
/// <param name="OpType">Its operator type.</param>
public sealed record GraphProblem(string Message, string? NodeName = null, string? OpType = null);

public sealed partial class Graph
{
    /// <summary>Throws <see cref="InvalidModelException"/> listing every problem when the graph is not well formed.</summary>
    public void Validate()
    {
        IReadOnlyList<GraphProblem> problems = FindProblems();
        if (problems.Count == 0)
        {
            return;
        }
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Graph '{Name}' is invalid ({problems.Count} problem(s)):");
        foreach (GraphProblem p in problems.Take(20))
        {
            sb.Append("\n  - ").Append(p.Message);
        }
        if (problems.Count > 20)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\n  ... and {problems.Count - 20} more");
        }
        throw new InvalidModelException(sb.ToString(), problems[0].NodeName, problems[0].OpType);
    }

    /// <summary>
    /// Every structural problem: dangling inputs, outputs nobody produces, cycles, initializer
    /// payloads whose size disagrees with their dims, operators from domains the model does not
    /// import, and broken def-use indices.
    /// </summary>
    public IReadOnlyList<GraphProblem> FindProblems()
    {
        var problems = new List<GraphProblem>();
        foreach (Node n in Nodes)
        {
            for (int i = 0; i < n.InputList.Count; i++)
            {
                Value? v = n.InputList[i];
                if (v is not null && !IsDefined(v))
                {
                    problems.Add(new($"Node '{n.Name}' ({n.OpType}) input {i} '{v.Name}' is not produced by any node, nor a graph input or initializer.", n.Name, n.OpType));
                }
                if (v is not null && !v.UseList.Contains(new Use(n, i)))
                {
                    problems.Add(new($"Internal index error: '{v.Name}' does not list node '{n.Name}' slot {i} as a use.", n.Name, n.OpType));
                }
            }
            foreach (Value v in n.ImplicitInputList.Where(v => !IsDefined(v)))
            {
                problems.Add(new($"A subgraph of node '{n.Name}' ({n.OpType}) reads '{v.Name}', which is not defined in any enclosing scope.", n.Name, n.OpType));
            }
            foreach (Value? o in n.OutputList)
            {
                if (o is not null && o.Producer != n)
                {
                    problems.Add(new($"Internal index error: output '{o.Name}' of node '{n.Name}' names another producer.", n.Name, n.OpType));
                }
            }
            if (Model is { } m && m.GetOpsetVersion(n.Domain) is null)
            {
                string domain = n.Domain.Length == 0 ? "ai.onnx (default)" : n.Domain;
                problems.Add(new($"Node '{n.Name}' ({n.OpType}) uses domain '{domain}', which the model's opset_import does not list.", n.Name, n.OpType));
            }
        }
        foreach (Value o in _outputs.Where(o => !IsDefined(o)))
        {
            problems.Add(new($"Graph output '{o.Name}' is not produced by any node, nor a graph input or initializer."));
        }
        foreach (Value v in _initializers)
        {
            if (PayloadProblem(v.Initializer!) is { } problem)
            {
                problems.Add(new($"Initializer '{v.Name}' {problem}."));
            }
        }
        foreach (Node n in Nodes.Where(n => n is { OpType: "Constant", IsStandardDomain: true } && n.HasAttribute("value")))
        {
            // Constant nodes become initializers during conversion: their payloads get the same checks.
            string? problem;
            try
            {
                problem = PayloadProblem(n.GetTensor("value")!);
            }
            catch (InvalidModelException ex)
            {
                problem = ex.Message;
            }
            if (problem is not null)
            {
                problems.Add(new($"Constant node '{n.Name}': value {problem}.", n.Name, n.OpType));
            }
        }
        if (!TryTopologicalOrder(out _, out List<Node>? cycle))
        {
            string path = string.Join(" -> ", cycle!.Select(n => $"{n.OpType} '{n.Name}'"));
            problems.Add(new($"Graph has a cycle: {path}.", cycle![0].Name, cycle[0].OpType));
        }
        return problems;
    }

    /// <summary>What is wrong with a tensor's dims or stored payload, or null.</summary>
    private static string? PayloadProblem(Tensor t)
    {
        if (t.Dims.Any(d => d < 0))
        {
            return $"has a negative dimension: {t}";
        }
        if (t.DataType == DataType.String || t.External is not null)
        {
            return null; // Strings have no fixed size; external payloads are checked when read.
        }
        long expected;
        try
        {
            expected = t.ExpectedByteLength;
        }
        catch (OverflowException)
        {
            return $"has dims whose product overflows: {t}";
        }
        if (expected < 0)
        {
            return $"has data_type {(int)t.DataType}, which is not a known ONNX element type";
        }
        int stored = t.Payload.Length;
        string field = t.HasRawData ? "raw_data" : "typed data";
        return expected == stored ? null : $"({t}) holds {stored} bytes of {field} but its type and dims need {expected}";
    }

    private static bool IsDefined(Value v) => v.Producer is { IsAlive: true } || v.IsGraphInput || v.Initializer is not null;
}
