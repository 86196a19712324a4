namespace ModelBridge.Ir;

/// <summary>
/// The one definition of "constant" in ModelBridge: a value whose payload is fixed when the model is
/// built. That is an initializer that is not also a graph input (an input could override it), or the
/// output of a default-domain <c>Constant</c> node (runtimes such as ONNX Runtime turn those into
/// initializers at load, and older exporters such as Paddle2ONNX hold every weight in one).
/// </summary>
/// <remarks>
/// Passes, the profile checker, shape inference and the cost model all ask here, so a weight is a
/// weight wherever the exporter put it. String and sparse <c>Constant</c> nodes have no dense numeric
/// payload: <see cref="IsConstant"/> is true for them but <see cref="Of"/> returns null.
/// </remarks>
public static class Constants
{
    /// <summary>True when <paramref name="value"/> is a non-overridable initializer or a <c>Constant</c> node's output.</summary>
    public static bool IsConstant(Value? value) =>
        value is not null && ((value.Initializer is not null && !value.IsGraphInput) || ProducedByConstantNode(value));

    /// <summary>
    /// The payload of <paramref name="value"/> when it is constant (see <see cref="IsConstant"/>), or null.
    /// A <c>Constant</c> node's <c>value</c>, <c>value_float(s)</c> and <c>value_int(s)</c> forms are read;
    /// string and sparse forms give null.
    /// </summary>
    public static Tensor? Of(Value? value)
    {
        if (value is null)
        {
            return null;
        }
        if (value.Initializer is { } init)
        {
            return value.IsGraphInput ? null : init;
        }
        return ProducedByConstantNode(value) ? OfConstantNode(value.Producer!) : null;
    }

    /// <summary>
    /// The value holding the weights <paramref name="value"/> reads, for naming and counting them, following
    /// <c>Identity</c> chains (exporters reach shared weights through them): a constant (<see cref="IsConstant"/>),
    /// or an initializer that is also a graph input (IR &lt; 4 exports list every weight as an input), since
    /// its default is the trained weight.
    /// </summary>
    public static Value? WeightSource(Value? value)
    {
        for (int hops = 0; value is not null && hops < 64; hops++)
        {
            if (value.Initializer is not null || IsConstant(value))
            {
                return value;
            }
            if (value.Producer is not { OpType: "Identity", IsStandardDomain: true } id)
            {
                return null;
            }
            value = id.Input(0);
        }
        return null;
    }

    /// <summary>The payload of a value <see cref="WeightSource"/> returned: its initializer (overridable or not) or its Constant node's value.</summary>
    public static Tensor? WeightOf(Value? source) => source?.Initializer ?? Of(source);

    /// <summary>
    /// The dense payload of a <c>Constant</c> node (<c>value</c>, <c>value_float</c>, <c>value_floats</c>,
    /// <c>value_int</c>, <c>value_ints</c>), or null for string and sparse constants.
    /// </summary>
    /// <exception cref="Errors.InvalidModelException">An attribute has the wrong type or no payload.</exception>
    public static Tensor? OfConstantNode(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        Tensor? t = node.GetTensor("value");
        if (t is null && node.HasAttribute("value_float"))
        {
            t = Tensor.Create<float>([], [node.GetFloat("value_float", 0)]);
        }
        if (t is null && node.GetFloats("value_floats") is { } fs)
        {
            t = Tensor.Create<float>([fs.Length], fs);
        }
        if (t is null && node.HasAttribute("value_int"))
        {
            t = Tensor.Create<long>([], [node.GetInt("value_int")]);
        }
        if (t is null && node.GetInts("value_ints") is { } ints)
        {
            t = Tensor.Create<long>([ints.Length], ints);
        }
        return t is { DataType: DataType.String } ? null : t;
    }

    private static bool ProducedByConstantNode(Value value) =>
        value.Producer is { OpType: "Constant", IsStandardDomain: true, IsAlive: true } && value.ProducerOutputIndex == 0;
}
