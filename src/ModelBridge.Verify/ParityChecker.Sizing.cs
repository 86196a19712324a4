using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.Shapes;

namespace ModelBridge.Verify;

public static partial class ParityChecker
{
    /// <summary>
    /// The byte size of every value of a model for the samples actually run, which is what sizes the
    /// chunks. Symbolic dimensions of the graph inputs are bound to the samples' own dimensions (the
    /// largest over the samples), so a dynamic model is sized as precisely as a static one and needs no
    /// more chunks; a value whose shape is still unknown is sized like the largest non-constant input of
    /// its producer (an elementwise guess that follows chains of unknowns).
    /// </summary>
    /// <remarks>
    /// The sizes come from shape facts inferred with the samples' dimensions, a side table: the models that
    /// are run keep their declared types (the samples may disagree on a dimension).
    /// </remarks>
    private sealed class TensorSizes
    {
        /// <summary>The size used when nothing is known about a value at all.</summary>
        private const long Fallback = 64L << 20;

        private readonly Dictionary<string, long> _bytes = new(StringComparer.Ordinal);

        private TensorSizes()
        {
        }

        /// <summary>Values whose size is a guess (their shape is unknown even with the samples' dims).</summary>
        public int Guessed { get; private set; }

        /// <summary>Bytes of the value named <paramref name="name"/> (a guess when its shape is unknown).</summary>
        public long Of(string name) => _bytes.TryGetValue(name, out long b) ? b : Fallback;

        public static TensorSizes For(Model model, IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples, ParityOptions options,
            string which, List<string> warnings)
        {
            var dims = new Dictionary<string, long>(options.Dims, StringComparer.Ordinal);
            foreach (var (symbol, size) in SampleDims(model.Graph, samples))
            {
                // The samples are what runs: their sizes win over a pinned guess.
                dims[symbol] = size;
            }
            // Shape facts are a side table: neither model is changed, so neither needs a defensive copy.
            ShapeInferenceResult shapes;
            try
            {
                shapes = ShapeInference.Run(model.Graph, new ShapeInferenceOptions { DimOverrides = dims });
            }
            catch (InvalidModelException e)
            {
                warnings.Add($"{which}: shape inference failed ({e.Message}); tensor sizes are estimated.");
                shapes = ShapeInference.Run(model.Graph, new ShapeInferenceOptions { DimOverrides = dims, Lenient = true });
            }
            var sizes = new TensorSizes();
            sizes.Measure(model.Graph, samples, shapes);
            if (sizes.Guessed > 0)
            {
                warnings.Add($"{which}: {sizes.Guessed} value(s) of unknown shape even with the inputs' dimensions; their memory is estimated.");
            }
            return sizes;
        }

        private void Measure(Graph graph, IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples, ShapeInferenceResult shapes)
        {
            foreach (Value input in graph.Inputs)
            {
                long largest = samples.Select(s => s.TryGetValue(input.Name, out TensorData? t) ? (long)t.Bytes.Length : 0).DefaultIfEmpty(0).Max();
                _bytes[input.Name] = Known(input, shapes) ?? largest;
            }
            foreach (Node n in graph.TopologicalOrder())
            {
                long? guess = null;
                foreach (Value? o in n.Outputs)
                {
                    if (o is null)
                    {
                        continue;
                    }
                    if (Known(o, shapes) is long b)
                    {
                        _bytes[o.Name] = b;
                        continue;
                    }
                    guess ??= n.Inputs.Where(i => i is { Initializer: null } && _bytes.ContainsKey(i.Name)).Select(i => _bytes[i!.Name]).DefaultIfEmpty(Fallback).Max();
                    _bytes[o.Name] = guess.Value;
                    Guessed++;
                }
            }
        }

        private static long? Known(Value v, ShapeInferenceResult shapes) =>
            shapes.TypeOf(v) is { Shape: { } shape } type && shape.ElementCount is long count ? DataTypes.ByteCount(type.ElementType, count) : null;

        /// <summary>Each symbolic input dimension bound to the largest size the samples give it.</summary>
        private static Dictionary<string, long> SampleDims(Graph graph, IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples)
        {
            var bound = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (Value input in graph.Inputs)
            {
                if (input.DeclaredType?.Shape is not { } shape)
                {
                    continue;
                }
                foreach (IReadOnlyDictionary<string, TensorData> sample in samples)
                {
                    if (!sample.TryGetValue(input.Name, out TensorData? t) || t.Dims.Length != shape.Rank)
                    {
                        continue;
                    }
                    for (int i = 0; i < shape.Rank; i++)
                    {
                        if (shape.Dims[i].Symbol is { } symbol)
                        {
                            bound[symbol] = Math.Max(bound.GetValueOrDefault(symbol), t.Dims[i]);
                        }
                    }
                }
            }
            return bound;
        }
    }
}
