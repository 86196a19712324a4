using System.Text.Json;
using System.Text.Json.Serialization;
using ModelBridge.Ir;

namespace ModelBridge.Rewriting;

/// <summary>A kept channel subset of an original tensor (for outputs that were sliced).</summary>
/// <param name="Axis">The sliced axis.</param>
/// <param name="Indices">The kept indices along <paramref name="Axis"/>, in order.</param>
public sealed record ChannelSlice(int Axis, IReadOnlyList<long> Indices);

/// <summary>
/// Where a value of a rewritten graph comes from: the original value it equals (exactly or
/// within <see cref="Contract"/>), or none when it is internal to a rewrite.
/// </summary>
/// <param name="Original">Name of the original graph's value this one equals, or null for internal values.</param>
/// <param name="Contract">How closely it equals it (the passes' contracts composed).</param>
/// <param name="Passes">Ids of the passes that touched it, in order.</param>
/// <param name="DerivedFrom">Original values it was computed from (for internal values: what it stands for).</param>
/// <param name="Slice">When set, this value equals that slice of <paramref name="Original"/>.</param>
public sealed record TensorOrigin(string? Original, NumericContract Contract, IReadOnlyList<string> Passes,
    IReadOnlyList<string> DerivedFrom, ChannelSlice? Slice = null)
{
    /// <summary>True when the value can be compared against an original tensor.</summary>
    public bool IsMapped => Original is not null;
}

/// <summary>
/// The tensor map of a conversion: from each value name of the rewritten graph to its
/// <see cref="TensorOrigin"/> in the original graph. Kept right through chains of passes: a value
/// that replaces another inherits that one's origin with the new pass's contract composed on.
/// </summary>
public sealed class ProvenanceMap
{
    private readonly Dictionary<string, TensorOrigin> _entries = new(StringComparer.Ordinal);

    /// <summary>Every value of <paramref name="original"/> maps to itself, exactly.</summary>
    public static ProvenanceMap Identity(Graph original)
    {
        ArgumentNullException.ThrowIfNull(original);
        var map = new ProvenanceMap();
        foreach (Value v in original.Values)
        {
            map._entries[v.Name] = new TensorOrigin(v.Name, NumericContract.Exact, [], [v.Name]);
        }
        return map;
    }

    /// <summary>All entries, by rewritten value name.</summary>
    public IReadOnlyDictionary<string, TensorOrigin> Entries => _entries;

    /// <summary>The origin of a rewritten value, or null when unknown.</summary>
    public TensorOrigin? Get(string name) => _entries.GetValueOrDefault(name);

    /// <summary>Records that <paramref name="newName"/> equals what <paramref name="oldName"/> stood for, via <paramref name="passId"/>.</summary>
    internal void SetEquivalent(string newName, string oldName, string passId, NumericContract contract)
    {
        TensorOrigin old = _entries.GetValueOrDefault(oldName) ?? new TensorOrigin(null, NumericContract.Exact, [], []);
        _entries[newName] = old with
        {
            Contract = old.Contract.Then(contract),
            Passes = [.. old.Passes, passId],
        };
    }

    /// <summary>Records an internal value of a rewrite, computed from <paramref name="derivedFrom"/>.</summary>
    internal void SetInternal(string name, IEnumerable<string> derivedFrom, string passId)
    {
        var originals = new List<string>();
        foreach (string d in derivedFrom)
        {
            if (_entries.TryGetValue(d, out TensorOrigin? o))
            {
                originals.AddRange(o.Original is { } orig ? [orig] : o.DerivedFrom);
            }
        }
        _entries[name] = new TensorOrigin(null, NumericContract.Exact, [passId], [.. originals.Distinct(StringComparer.Ordinal)]);
    }

    /// <summary>Records that <paramref name="name"/> equals a slice of what <paramref name="oldName"/> stood for.</summary>
    internal void SetSlice(string name, string oldName, ChannelSlice slice, string passId, NumericContract contract)
    {
        SetEquivalent(name, oldName, passId, contract);
        _entries[name] = _entries[name] with { Slice = slice };
    }

    internal void Rename(string from, string to)
    {
        if (_entries.Remove(from, out TensorOrigin? o))
        {
            _entries[to] = o;
        }
    }

    /// <summary>Drops entries for values that no longer exist in <paramref name="graph"/>.</summary>
    public void RestrictTo(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        foreach (string name in _entries.Keys.ToList())
        {
            if (graph.FindValue(name) is null)
            {
                _entries.Remove(name);
            }
        }
    }

    /// <summary>Serialises the map (the <c>OUT.map.json</c> written beside a converted model).</summary>
    public string ToJson()
    {
        var doc = new MapDocument
        {
            Format = "modelbridge-tensor-map/1",
            Tensors = _entries.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new MapEntry
            {
                Name = e.Key,
                Original = e.Value.Original,
                Exact = e.Value.Contract.IsExact,
                Rtol = e.Value.Contract.IsExact ? null : e.Value.Contract.RelativeTolerance,
                Atol = e.Value.Contract.IsExact ? null : e.Value.Contract.AbsoluteTolerance,
                Measured = e.Value.Contract.IsMeasured ? true : null,
                Passes = e.Value.Passes.Count == 0 ? null : [.. e.Value.Passes],
                DerivedFrom = e.Value.Original is null ? [.. e.Value.DerivedFrom] : null,
                Slice = e.Value.Slice is { } s ? new SliceEntry { Axis = s.Axis, Indices = [.. s.Indices] } : null,
            }).ToList(),
        };
        return JsonSerializer.Serialize(doc, MapJson.Default.MapDocument);
    }

    /// <summary>Reads a map written by <see cref="ToJson"/>.</summary>
    public static ProvenanceMap FromJson(string json)
    {
        MapDocument doc = JsonSerializer.Deserialize(json, MapJson.Default.MapDocument)
            ?? throw new FormatException("The tensor map is empty.");
        if (doc.Format != "modelbridge-tensor-map/1")
        {
            throw new FormatException($"Unknown tensor map format '{doc.Format}'.");
        }
        var map = new ProvenanceMap();
        foreach (MapEntry e in doc.Tensors ?? [])
        {
            NumericContract c = e.Exact ? NumericContract.Exact
                : e.Measured == true ? NumericContract.Measured(e.Rtol ?? 0, e.Atol ?? 0)
                : NumericContract.Approximate(e.Rtol ?? 0, e.Atol ?? 0);
            map._entries[e.Name] = new TensorOrigin(e.Original, c, e.Passes ?? [], e.DerivedFrom ?? (e.Original is null ? [] : [e.Original]),
                e.Slice is { } s ? new ChannelSlice(s.Axis, s.Indices) : null);
        }
        return map;
    }

    internal sealed class MapDocument
    {
        public string Format { get; set; } = string.Empty;

        public List<MapEntry>? Tensors { get; set; }
    }

    internal sealed class MapEntry
    {
        public string Name { get; set; } = string.Empty;

        public string? Original { get; set; }

        public bool Exact { get; set; }

        public double? Rtol { get; set; }

        public double? Atol { get; set; }

        public bool? Measured { get; set; }

        public List<string>? Passes { get; set; }

        public List<string>? DerivedFrom { get; set; }

        public SliceEntry? Slice { get; set; }
    }

    internal sealed class SliceEntry
    {
        public int Axis { get; set; }

        public List<long> Indices { get; set; } = [];
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProvenanceMap.MapDocument))]
internal sealed partial class MapJson : JsonSerializerContext
{
}
