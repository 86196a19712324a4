using ModelBridge.Ir;

namespace ModelBridge.Shapes;

public static partial class ShapeInference
{
    private static void RegisterRecurrent(Dictionary<string, Action<InferenceContext>> rules)
    {
        rules["RNN"] = Recurrent;
        rules["GRU"] = Recurrent;
        rules["LSTM"] = Recurrent;
    }

    /// <summary>
    /// RNN/GRU/LSTM: Y [seq, dirs, batch, hidden] and Y_h (and LSTM's Y_c) [dirs, batch, hidden];
    /// with layout = 1 (opset 14) batch comes first: Y [batch, seq, dirs, hidden], Y_h [batch, dirs, hidden].
    /// </summary>
    private static void Recurrent(InferenceContext c)
    {
        IReadOnlyList<Dim>? xd = c.DimsOf(0);
        DataType type = c.ElemOf(0);
        bool batchFirst = c.Int("layout", 0) != 0;
        string direction = c.Str("direction", "forward");
        Dim dirs = direction switch
        {
            "forward" or "reverse" => Dim.Of(1),
            "bidirectional" => Dim.Of(2),
            _ => c.Fail<Dim>($"direction '{direction}' is not forward, reverse or bidirectional"),
        };
        Dim hidden = c.Node.HasAttribute("hidden_size") ? Dim.Of(c.Int("hidden_size", 0))
            : c.DimsOf(2) is [_, _, var r] ? r : Dim.Unknown;
        if (xd is not null && xd.Count != 3)
        {
            c.Fail($"X {InferenceContext.Format(xd)} must be 3-D");
        }
        Dim seq = xd is null ? Dim.Unknown : xd[batchFirst ? 1 : 0];
        Dim batch = xd is null ? Dim.Unknown : xd[batchFirst ? 0 : 1];
        c.Set(0, type, batchFirst ? [batch, seq, dirs, hidden] : [seq, dirs, batch, hidden]);
        Dim[] state = batchFirst ? [batch, dirs, hidden] : [dirs, batch, hidden];
        c.Set(1, type, state);
        c.Set(2, type, state);
    }
}
