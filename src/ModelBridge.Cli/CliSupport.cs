using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelBridge.Errors;
using ModelBridge.Ir;

namespace ModelBridge.Cli;

/// <summary>Shared helpers of the commands.</summary>
internal static class CliSupport
{
    /// <summary>JSON settings of every --json output: camelCase, indented, enums as strings.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Writes <paramref name="value"/> as the one JSON document of a <c>--json</c> run.</summary>
    public static void WriteJson(object value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));

    /// <summary>Where human-readable lines go: stdout, or stderr when stdout carries the <c>--json</c> document.</summary>
    public static TextWriter Text(bool json) => json ? Console.Error : Console.Out;

    /// <summary>
    /// Runs <paramref name="write"/>, turning an I/O failure into one line that names <paramref name="path"/>
    /// (the exception's own path may be a temporary file beside it).
    /// </summary>
    public static void Writing(string path, Action write)
    {
        try
        {
            write();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(Program.IoError, $"cannot write '{path}': {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Loads the model at <paramref name="file"/>, refusing a missing path with a usage error and naming
    /// the file in the message of a model that cannot be read.
    /// </summary>
    public static Model LoadModel(FileInfo file, string role = "model")
    {
        ArgumentNullException.ThrowIfNull(file);
        if (Directory.Exists(file.FullName))
        {
            throw CliException.Usage($"{role} '{file.FullName}' is a folder, not an ONNX file.");
        }
        if (!file.Exists)
        {
            throw CliException.Usage($"{role} '{file.FullName}' does not exist.");
        }
        try
        {
            return Model.Load(file.FullName);
        }
        catch (ModelBridgeException ex) when (!ex.Message.Contains(file.Name, StringComparison.Ordinal))
        {
            throw new CliException(CliErrors.Classify(ex).Code, $"{role} '{file.FullName}': {ex.Message}", ex);
        }
    }

    /// <summary>Formats a count with thousands separators.</summary>
    public static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Formats a byte count (KiB/MiB).</summary>
    public static string Bytes(long v) => v switch
    {
        >= 1 << 20 => string.Create(CultureInfo.InvariantCulture, $"{v / 1048576.0:F2} MiB"),
        >= 1 << 10 => string.Create(CultureInfo.InvariantCulture, $"{v / 1024.0:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{v} B"),
    };
}
