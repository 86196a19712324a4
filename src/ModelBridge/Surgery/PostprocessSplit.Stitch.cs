using Google.Protobuf;
using ModelBridge.Ir;
using ModelBridge.OnnxProto;

namespace ModelBridge.Surgery;

public static partial class PostprocessSplit
{
    /// <summary>
    /// Joins a main model and its post-processing model (from <see cref="Split"/>) back into one model by
    /// tensor name: the post model's inputs that the main model produces are wired to those values, its
    /// other inputs become graph inputs. Used by verify to compare the pair with the original.
    /// </summary>
    /// <param name="main">The model up to the cut.</param>
    /// <param name="post">The tail model.</param>
    /// <param name="outputs">
    /// The outputs of the joined model, in order (the manifest's outputs); by default the main model's
    /// outputs that the post model does not read, then the post model's outputs.
    /// </param>
    /// <returns>A new model; neither input is changed.</returns>
    /// <exception cref="ArgumentException">A name in <paramref name="outputs"/> is produced by neither model, or the models share a node output.</exception>
    public static Model Stitch(Model main, Model post, IReadOnlyList<string>? outputs = null)
    {
        ArgumentNullException.ThrowIfNull(main);
        ArgumentNullException.ThrowIfNull(post);
        ModelProto joined = ModelProto.Parser.ParseFrom(main.ToBytes());
        ModelProto tail = ModelProto.Parser.ParseFrom(post.ToBytes());
        GraphProto g = joined.Graph, t = tail.Graph;

        var mainValues = new HashSet<string>(g.Input.Select(i => i.Name).Concat(g.Initializer.Select(i => i.Name)).Concat(g.Node.SelectMany(n => n.Output)), StringComparer.Ordinal);
        string? clash = t.Node.SelectMany(n => n.Output).FirstOrDefault(o => o.Length > 0 && mainValues.Contains(o));
        if (clash is not null)
        {
            throw new ArgumentException($"Both models produce '{clash}'; they are not a split pair.", nameof(post));
        }
        var readByPost = new HashSet<string>(t.Input.Select(i => i.Name), StringComparer.Ordinal);
        g.Input.AddRange(t.Input.Where(i => !mainValues.Contains(i.Name) && !t.Initializer.Any(x => x.Name == i.Name)));
        g.Initializer.AddRange(t.Initializer.Where(i => !mainValues.Contains(i.Name)));
        g.Node.AddRange(t.Node);
        var described = new HashSet<string>(g.ValueInfo.Select(v => v.Name), StringComparer.Ordinal);
        g.ValueInfo.AddRange(t.ValueInfo.Where(v => described.Add(v.Name)));
        foreach (OperatorSetIdProto opset in tail.OpsetImport.Where(o => !joined.OpsetImport.Any(j => j.Domain == o.Domain)))
        {
            joined.OpsetImport.Add(opset);
        }

        var candidates = g.Output.Concat(t.Output).GroupBy(o => o.Name, StringComparer.Ordinal).ToDictionary(x => x.Key, x => x.First(), StringComparer.Ordinal);
        List<ValueInfoProto> order = outputs is null
            ? [.. g.Output.Where(o => !readByPost.Contains(o.Name)), .. t.Output]
            : [.. outputs.Select(name => candidates.TryGetValue(name, out ValueInfoProto? o)
                ? o
                : throw new ArgumentException($"Output '{name}' is produced by neither model.", nameof(outputs)))];
        g.Output.Clear();
        g.Output.AddRange(order);
        return Model.Load(joined.ToByteArray());
    }
}
