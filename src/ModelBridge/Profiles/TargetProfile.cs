using System.Collections.Frozen;
using System.Reflection;
using ModelBridge.Errors;

namespace ModelBridge.Profiles;

/// <summary>A public document that a profile's facts come from.</summary>
/// <param name="Title">What the document is (file path in a repository, page title).</param>
/// <param name="Url">Where it is.</param>
/// <param name="Facts">Which facts of the profile it supports.</param>
public sealed record ProfileSource(string Title, string Url, string? Facts);

/// <summary>The default numeric tolerance for parity checks on a target: |a − b| ≤ atol + rtol·|b|.</summary>
/// <param name="Rtol">Relative tolerance.</param>
/// <param name="Atol">Absolute tolerance.</param>
public sealed record TargetTolerance(double Rtol, double Atol);

/// <summary>
/// What a phone runtime (an ONNX Runtime execution provider, TFLite builtins, ncnn, ...) can run: the
/// operators it supports with their opset ranges and per-operator constraints, and its default parity
/// tolerance. Loaded from JSON (see <c>schemas/target-profile.schema.json</c>); immutable once loaded.
/// </summary>
/// <remarks>
/// Operators are keyed by type for the default ONNX domain and by <c>domain::Type</c> otherwise. Keys
/// under <c>defaults</c> apply to every operator that does not set them itself. Unknown keys anywhere are
/// an <see cref="InvalidProfileException"/> naming the file and the key, so a typo never silently drops
/// a constraint.
/// </remarks>
public sealed class TargetProfile
{
    private const string ResourcePrefix = "ModelBridge.Profiles.Targets.";

    private static readonly Lazy<FrozenDictionary<string, string>> BuiltInResources = new(() =>
        typeof(TargetProfile).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
            .ToFrozenDictionary(n => n[ResourcePrefix.Length..^".json".Length], n => n, StringComparer.Ordinal));

    internal TargetProfile(string name, string description, IReadOnlyList<ProfileSource> sources, TargetTolerance tolerance,
        OpConstraints defaults, IReadOnlyDictionary<string, OpConstraints> ops, IReadOnlyDictionary<string, string> unsupportedOps, CpuFallback fallback, string origin)
    {
        Name = name;
        Description = description;
        Sources = sources;
        Tolerance = tolerance;
        Defaults = defaults;
        Ops = ops;
        UnsupportedOps = unsupportedOps;
        Fallback = fallback;
        Origin = origin;
    }

    /// <summary>Short name, e.g. <c>ort-nnapi</c>.</summary>
    public string Name { get; }

    /// <summary>One-line description of the target.</summary>
    public string Description { get; }

    /// <summary>The public documents the profile's facts come from.</summary>
    public IReadOnlyList<ProfileSource> Sources { get; }

    /// <summary>Default parity tolerance on this target.</summary>
    public TargetTolerance Tolerance { get; }

    /// <summary>Constraints applied to every operator that does not override them.</summary>
    public OpConstraints Defaults { get; }

    /// <summary>Supported operators (<c>Type</c> or <c>domain::Type</c>) and their own constraints, without the defaults merged in.</summary>
    public IReadOnlyDictionary<string, OpConstraints> Ops { get; }

    /// <summary>Operators the target is known not to run, with the reason and the usual workaround.</summary>
    public IReadOnlyDictionary<string, string> UnsupportedOps { get; }

    /// <summary>
    /// Whether the runtime runs unsupported nodes on the CPU, and how it partitions a graph
    /// (<see cref="CpuFallback.Undeclared"/> when the profile does not say).
    /// </summary>
    public CpuFallback Fallback { get; }

    /// <summary>Where the profile was loaded from: a file path, <c>built-in:NAME</c>, or a stream name.</summary>
    public string Origin { get; }

    /// <summary>Names of the profiles shipped with ModelBridge, sorted.</summary>
    public static IReadOnlyList<string> BuiltInNames => [.. BuiltInResources.Value.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The built-in profile called <paramref name="name"/> (embedded from <c>schemas/targets/</c>).</summary>
    /// <exception cref="ArgumentException">There is no built-in profile of that name.</exception>
    public static TargetProfile BuiltIn(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!BuiltInResources.Value.TryGetValue(name, out string? resource))
        {
            throw new ArgumentException($"No built-in target profile '{name}'. Built-in profiles: {string.Join(", ", BuiltInNames)}.", nameof(name));
        }
        using Stream stream = typeof(TargetProfile).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource '{resource}' is missing.");
        return Load(stream, $"built-in:{name}");
    }

    /// <summary>A built-in profile when <paramref name="nameOrPath"/> names one, otherwise the JSON file at that path.</summary>
    public static TargetProfile Resolve(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        return BuiltInResources.Value.ContainsKey(nameOrPath) ? BuiltIn(nameOrPath) : Load(nameOrPath);
    }

    /// <summary>Loads a profile from a JSON file.</summary>
    /// <exception cref="InvalidProfileException">The file is not a valid profile; the message names the file and key.</exception>
    public static TargetProfile Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        using FileStream stream = File.OpenRead(full);
        return Load(stream, full);
    }

    /// <summary>Loads a profile from a JSON stream; <paramref name="origin"/> names it in error messages.</summary>
    /// <exception cref="InvalidProfileException">The stream is not a valid profile.</exception>
    public static TargetProfile Load(Stream stream, string origin)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrEmpty(origin);
        return ProfileReader.Read(stream, origin);
    }

    /// <summary>
    /// The effective constraints for an operator (its entry with <see cref="Defaults"/> merged in), or null
    /// when the target does not list the operator.
    /// </summary>
    public OpConstraints? Find(string domain, string opType)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(opType);
        return Ops.TryGetValue(Key(domain, opType), out OpConstraints? c) ? c.WithDefaults(Defaults) : null;
    }

    /// <summary>The key of an operator in <see cref="Ops"/>: the type in the default domain, else <c>domain::Type</c>.</summary>
    public static string Key(string domain, string opType) =>
        domain.Length == 0 || domain == "ai.onnx" ? opType : $"{domain}::{opType}";

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Ops.Count} ops)";
}
