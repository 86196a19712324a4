using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

/// <summary>Shared helpers for small hand-built pass tests.</summary>
internal static class Build
{
    public static (Model Model, Graph Graph, Value X) Start(long opset = 13, params long[] dims)
    {
        var m = new Model(opset);
        Value x = m.Graph.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(dims.Length == 0 ? [1, 4, 3, 3] : dims)));
        return (m, m.Graph, x);
    }

    public static PipelineResult Run(Model m, params Pass[] passes) => new Pipeline(passes).Run(m);

    public static string[] Ops(Model m) => [.. m.Graph.TopologicalOrder().Select(n => n.OpType)];
}
