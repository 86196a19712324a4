using System.Globalization;
using System.Text.Json;

namespace ModelBridge.Surgery;

/// <summary>
/// What to do to a model's outputs: drop some, slice head channels, reorder and rename. Empty
/// options do nothing. Turned into passes by <see cref="Rewriting.Pipeline.ForSurgery"/>.
/// </summary>
public sealed record OutputSurgeryOptions
{
    /// <summary>Outputs to drop, by name (<c>--drop-outputs</c>).</summary>
    public IReadOnlyList<string> DropOutputs { get; init; } = [];

    /// <summary>FPN levels whose head outputs to drop, 3 for P3 (<c>--drop-level P3</c>; see <see cref="ParseLevel"/>).</summary>
    public IReadOnlyList<int> DropLevels { get; init; } = [];

    /// <summary>Class ids to keep in the class heads, in output order; null keeps all (<c>--keep-classes 0,2,5</c>).</summary>
    public IReadOnlyList<int>? KeepClasses { get; init; }

    /// <summary>Anchor ids to keep in every head, in output order; null keeps all (<c>--keep-anchors</c>).</summary>
    public IReadOnlyList<int>? KeepAnchors { get; init; }

    /// <summary>Channel layout of the heads; RetinaNet/torchvision is anchor-major.</summary>
    public HeadLayout Layout { get; init; } = HeadLayout.AnchorMajor;

    /// <summary>Output name pattern: <c>output_{index}</c>, <c>{kind}_{level}</c>, … (see <see cref="Surgery.RenameOutputs"/>).</summary>
    public string? RenamePattern { get; init; }

    /// <summary>Explicit new names, old → new, for outputs and inputs (<c>--rename-outputs MAP.json</c>; see <see cref="ReadRenameMap"/>).</summary>
    public IReadOnlyDictionary<string, string>? RenameMap { get; init; }

    /// <summary>Input name pattern (<c>input_{index}</c>); null keeps input names not in <see cref="RenameMap"/>.</summary>
    public string? InputRenamePattern { get; init; }

    /// <summary>Output order: output names or head kinds (<c>--order cls,box</c>).</summary>
    public IReadOnlyList<string> Order { get; init; } = [];

    /// <summary>Give internal values and nodes short canonical names (<c>t0</c>, <c>n0</c>).</summary>
    public bool CanonicalizeNames { get; init; }

    /// <summary>How detector head outputs are recognised, and their geometry.</summary>
    public DetectorHeads Heads { get; init; } = DetectorHeads.Default;

    /// <summary>Parses an FPN level: <c>P3</c>, <c>p3</c> or <c>3</c>.</summary>
    /// <exception cref="FormatException">The text is not a level.</exception>
    public static int ParseLevel(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string digits = text.Length > 1 && text[0] is 'P' or 'p' ? text[1..] : text;
        return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int level)
            ? level
            : throw new FormatException($"'{text}' is not an FPN level (expected P3, p3 or 3).");
    }

    /// <summary>Reads a rename map: a JSON object of old name → new name.</summary>
    /// <exception cref="FormatException">The file is not a JSON object of strings.</exception>
    public static IReadOnlyDictionary<string, string> ReadRenameMap(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), SurgeryJson.Default.DictionaryStringString)
                ?? throw new FormatException($"'{path}' holds no rename map.");
        }
        catch (JsonException e)
        {
            throw new FormatException($"'{path}' is not a JSON object of old name → new name: {e.Message}", e);
        }
    }
}
