using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace ModelBridge.Cli;

/// <summary>The <c>modelbridge</c> command line.</summary>
/// <remarks>
/// Every run ends with one of the documented exit codes below. A failure prints one line on stderr
/// (<c>error: ...</c>) naming the input, value or path at fault, never a stack trace; with <c>--json</c>
/// stdout then stays empty.
/// </remarks>
public static class Program
{
    /// <summary>The command's name, as installed by <c>dotnet tool install</c>.</summary>
    public const string Name = "modelbridge";

    /// <summary>Exit code: success (for <c>verify</c> and <c>convert --verify</c>: parity holds).</summary>
    public const int Ok = 0;

    /// <summary>Exit code: the model, or data read with it (test-data tensors), is invalid or could not be read as ONNX.</summary>
    public const int InvalidModel = 2;

    /// <summary>
    /// Exit code: something is not supported. <c>check</c>: at least one node is not supported by the target;
    /// <c>convert</c>: the model uses an opset or a form ModelBridge cannot convert.
    /// </summary>
    public const int Unsupported = 3;

    /// <summary>Exit code of <c>verify</c> and <c>convert --verify</c>: a tensor of the converted model diverges from the original.</summary>
    public const int ParityFailed = 4;

    /// <summary>Exit code: bad command-line usage (unknown verb or option, missing or malformed value, a path that does not exist).</summary>
    public const int Usage = 64;

    /// <summary>Exit code: an internal error (a bug in ModelBridge); the message names the exception.</summary>
    public const int Internal = 70;

    /// <summary>Exit code: an I/O error reading or writing a file (permission denied, disk full, a folder in the way).</summary>
    public const int IoError = 74;

    /// <summary>Builds the command tree (also used by tests).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("ModelBridge: rewrite ONNX models for phone runtimes and verify them layer by layer.");
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(CheckCommand.Create());
        root.Subcommands.Add(ProfileCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        root.Subcommands.Add(CompletionCommand.Create());
        return root;
    }

    /// <summary>
    /// Parses and runs <paramref name="args"/>: parse errors print one line and return <see cref="Usage"/>;
    /// any exception a command throws becomes one line on stderr and its exit code.
    /// </summary>
    /// <returns>The process exit code.</returns>
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        try
        {
            RootCommand root = BuildRoot();
            ParseResult parse = root.Parse(args);
            if (parse.Action is ParseErrorAction)
            {
                return CliErrors.Report(Usage, CliErrors.DescribeParseErrors(parse));
            }
            // Help, --version and the [suggest] directive write to the configured output; help is
            // captured so that it can name `modelbridge` and end with the command's examples.
            using var captured = new StringWriter();
            var config = new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false,
                Output = parse.Action is HelpAction ? captured : Console.Out,
                Error = Console.Error,
            };
            int code = parse.Invoke(config);
            if (parse.Action is HelpAction)
            {
                Console.Out.Write(CliHelp.Rewrite(captured.ToString(), parse.CommandResult.Command));
            }
            return code;
        }
        catch (Exception ex)
        {
            return CliErrors.Report(ex);
        }
    }

    /// <summary>Entry point.</summary>
    public static int Main(string[] args) => Run(args);
}
