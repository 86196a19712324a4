using System.Globalization;
using ModelBridge.Ir;

namespace ModelBridge.Cli;

/// <summary>
/// <c>--set-dim NAME=N</c> and <c>--input-shape INPUT=D0,D1,...</c>, checked against the model and turned
/// into the symbol → size map that <see cref="ConvertOptions.Dims"/> and shape inference pin.
/// </summary>
/// <remarks>
/// A whole input shape is fixed by pinning the symbols of that input's declared dimensions, which is
/// what onnxsim's <c>--overwrite-input-shape</c> and ORT's <c>make_dynamic_shape_fixed</c> achieve for
/// symbolic dims. A static dimension must already equal the given size and the rank must match. A
/// dimension with neither a size nor a name cannot be pinned through a symbol and is refused.
/// </remarks>
internal static class DimPins
{
    /// <summary>Parses and checks the pins against <paramref name="graphs"/> (the first is the one whose inputs <c>--input-shape</c> names).</summary>
    /// <exception cref="CliException">A malformed pin, a symbol or input the model lacks, a shape that disagrees with the model, or two pins of one symbol that disagree.</exception>
    public static Dictionary<string, long> Resolve(IEnumerable<string>? setDims, IEnumerable<string>? inputShapes, params Graph[] graphs)
    {
        ArgumentNullException.ThrowIfNull(graphs);
        var pins = new Dictionary<string, long>(StringComparer.Ordinal);
        var origins = new Dictionary<string, string>(StringComparer.Ordinal);
        void Pin(string symbol, long size, string origin)
        {
            if (pins.TryGetValue(symbol, out long old) && old != size)
            {
                throw CliException.Usage($"{origin} sets '{symbol}' to {size}, but {origins[symbol]} already set it to {old}.");
            }
            pins[symbol] = size;
            origins.TryAdd(symbol, origin);
        }

        var symbols = graphs.SelectMany(Symbols).ToHashSet(StringComparer.Ordinal);
        foreach (string pin in setDims ?? [])
        {
            int eq = pin.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !long.TryParse(pin.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long v) || v <= 0)
            {
                throw CliException.Usage($"--set-dim expects NAME=POSITIVE_INTEGER, got '{pin}'.");
            }
            string name = pin[..eq];
            if (!symbols.Contains(name))
            {
                string known = symbols.Count == 0 ? "It has none (every dimension is static or unnamed)" : "Its symbols: " + string.Join(", ", symbols.Order(StringComparer.Ordinal));
                throw CliException.Usage($"--set-dim {pin}: the model has no symbolic dimension '{name}'{Suggest.DidYouMean(name, symbols)} {known}.");
            }
            Pin(name, v, "--set-dim " + pin);
        }
        foreach (string spec in inputShapes ?? [])
        {
            var (input, sizes) = ParseShape(spec, graphs.Length > 0 ? graphs[0] : null);
            TensorShape shape = input.DeclaredType?.Shape
                ?? throw CliException.Usage($"--input-shape {spec}: input '{input.Name}' declares no shape, so it has no dimensions to pin.");
            if (shape.Rank != sizes.Length)
            {
                throw CliException.Usage($"--input-shape {spec}: input '{input.Name}' has rank {shape.Rank} ({input.DeclaredType}), not {sizes.Length}.");
            }
            for (int i = 0; i < sizes.Length; i++)
            {
                Dim d = shape.Dims[i];
                if (d.Value is long fixedSize)
                {
                    if (fixedSize != sizes[i])
                    {
                        throw CliException.Usage($"--input-shape {spec}: dimension {i} of input '{input.Name}' is fixed at {fixedSize} ({input.DeclaredType}).");
                    }
                    continue;
                }
                if (d.Symbol is not { } symbol)
                {
                    throw CliException.Usage($"--input-shape {spec}: dimension {i} of input '{input.Name}' has neither a size nor a name ({input.DeclaredType}); only named dimensions can be pinned.");
                }
                Pin(symbol, sizes[i], "--input-shape " + spec);
            }
        }
        return pins;
    }

    /// <summary>The symbolic dimension names declared anywhere in <paramref name="graph"/> (inputs, outputs, value_info).</summary>
    public static IEnumerable<string> Symbols(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return graph.Values
            .SelectMany(v => v.DeclaredType?.Shape?.Dims ?? [])
            .Select(d => d.Symbol)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal);
    }

    private static (Value Input, long[] Sizes) ParseShape(string spec, Graph? graph)
    {
        // Input names may contain '=' only in exotic exports; the sizes never do, so split at the last one.
        int eq = spec.LastIndexOf('=');
        string[] parts = eq > 0 ? spec[(eq + 1)..].Split(',', StringSplitOptions.TrimEntries) : [];
        var sizes = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] <= 0)
            {
                parts = [];
                break;
            }
        }
        if (parts.Length == 0)
        {
            throw CliException.Usage($"--input-shape expects INPUT=D0,D1,... with positive sizes, e.g. images=1,3,320,320; got '{spec}'.");
        }
        string name = spec[..eq];
        var inputs = graph?.Inputs.Where(v => !v.IsConstant).ToList() ?? [];
        Value input = inputs.FirstOrDefault(v => v.Name == name)
            ?? throw CliException.Usage($"--input-shape {spec}: the model has no input '{name}'{Suggest.DidYouMean(name, inputs.Select(v => v.Name))} Its inputs: {string.Join(", ", inputs.Select(v => v.Name))}.");
        return (input, sizes);
    }
}
