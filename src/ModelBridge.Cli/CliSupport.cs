using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelBridge.Errors;

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

    /// <summary>Parses <c>N=1</c> style dimension pins.</summary>
    public static Dictionary<string, long> ParseDims(IEnumerable<string>? pins)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string pin in pins ?? [])
        {
            int eq = pin.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !long.TryParse(pin.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long v) || v <= 0)
            {
                throw new ArgumentException($"--set-dim expects NAME=POSITIVE_INTEGER, got '{pin}'.");
            }
            result[pin[..eq]] = v;
        }
        return result;
    }

    /// <summary>Runs a command body, turning model errors into a message and exit code.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (InvalidProfileException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return Program.Usage;
        }
        catch (ModelBridgeException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return Program.InvalidModel;
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return Program.Usage;
        }
        catch (FileNotFoundException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return Program.Usage;
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
