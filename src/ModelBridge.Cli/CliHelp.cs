using System.CommandLine;
using System.Globalization;
using System.Text;

namespace ModelBridge.Cli;

/// <summary>
/// Help text as users read it: the usage lines name <c>modelbridge</c> (System.CommandLine names the
/// root after the running executable, which is <c>ModelBridge.Cli</c> under <c>dotnet run</c> and the
/// test host under tests), and each command's help ends with examples.
/// </summary>
/// <remarks>
/// System.CommandLine 2.0.0 keeps its <c>HelpBuilder</c> internal, so the help it writes is
/// captured (<see cref="Program.Run"/>) and rewritten here.
/// </remarks>
internal static class CliHelp
{
    /// <summary>Examples shown at the end of the root help.</summary>
    private static readonly string[] RootExamples =
    [
        "modelbridge inspect model.onnx",
        "modelbridge check model.onnx --target ort-nnapi",
        "modelbridge convert model.onnx --target ort-nnapi --set-dim N=1 -o out/model.onnx --verify --report out/report",
        "modelbridge verify model.onnx out/model.onnx --atol 1e-4 --json",
    ];

    /// <summary>The exit codes, as the root help and README list them.</summary>
    public static readonly (int Code, string Meaning)[] ExitCodes =
    [
        (Program.Ok, "success (verify, convert --verify: parity holds)"),
        (Program.InvalidModel, "invalid model or test data (cannot be read as ONNX, malformed graph, ONNX Runtime refused it)"),
        (Program.Unsupported, "unsupported (check: a node the target refuses; convert: an opset or form ModelBridge cannot convert)"),
        (Program.ParityFailed, "parity failed (verify, convert --verify)"),
        (Program.Usage, "usage error (unknown command or option, bad or missing value, a path that does not exist)"),
        (Program.Internal, "internal error (a bug in ModelBridge)"),
        (Program.IoError, "I/O error (permission denied, disk full, a folder in the way)"),
    ];

    /// <summary><c>modelbridge</c> followed by the subcommand names leading to <paramref name="command"/>.</summary>
    public static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null and not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Insert(0, c.Name);
        }
        names.Insert(0, Program.Name);
        return string.Join(' ', names);
    }

    /// <summary>The examples of a command (its own file declares them).</summary>
    public static IReadOnlyList<string> ExamplesOf(Command command) => command switch
    {
        RootCommand => RootExamples,
        _ => command.Name switch
        {
            "inspect" => InspectCommand.Examples,
            "check" => CheckCommand.Examples,
            "profile" => ProfileCommand.Examples,
            "convert" => ConvertCommand.Examples,
            "verify" => VerifyCommand.Examples,
            "completion" => CompletionCommand.Examples,
            _ => [],
        },
    };

    /// <summary>Rewrites System.CommandLine's help for <paramref name="command"/>: the program name and the examples.</summary>
    public static string Rewrite(string help, Command command)
    {
        ArgumentNullException.ThrowIfNull(help);
        ArgumentNullException.ThrowIfNull(command);
        string exe = RootCommand.ExecutableName;
        var sb = new StringBuilder();
        bool inUsage = false;
        foreach (string line in help.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (line.Length > 0 && !char.IsWhiteSpace(line[0]))
            {
                inUsage = line.StartsWith("Usage:", StringComparison.Ordinal);
            }
            string trimmed = line.TrimStart();
            string indent = line[..(line.Length - trimmed.Length)];
            bool namesExe = trimmed == exe || trimmed.StartsWith(exe + " ", StringComparison.Ordinal);
            sb.Append(inUsage && namesExe ? indent + Program.Name + trimmed[exe.Length..] : line).Append('\n');
        }
        string text = sb.ToString().TrimEnd('\n') + "\n";
        IReadOnlyList<string> examples = ExamplesOf(command);
        if (examples.Count == 0)
        {
            return text;
        }
        var result = new StringBuilder(text).Append("\nExamples:\n");
        foreach (string example in examples)
        {
            result.Append("  ").Append(example).Append('\n');
        }
        if (command is RootCommand)
        {
            result.Append("\nExit codes:\n");
            foreach (var (code, meaning) in ExitCodes)
            {
                result.Append(CultureInfo.InvariantCulture, $"  {code,-4}{meaning}\n");
            }
        }
        return result.Append('\n').ToString();
    }
}
