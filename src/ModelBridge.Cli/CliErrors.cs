using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using ModelBridge.Errors;

namespace ModelBridge.Cli;

/// <summary>A failure the CLI itself diagnosed, with the message to print and the exit code.</summary>
/// <param name="exitCode">One of the <see cref="Program"/> exit codes.</param>
/// <param name="message">One line naming the flag, value or path at fault.</param>
/// <param name="inner">The exception that revealed the problem, if any.</param>
internal sealed class CliException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The exit code.</summary>
    public int ExitCode { get; } = exitCode;

    /// <summary>A usage error (<see cref="Program.Usage"/>).</summary>
    public static CliException Usage(string message, Exception? inner = null) => new(Program.Usage, message, inner);
}

/// <summary>Turns parse errors and exceptions into one line on stderr and a documented exit code.</summary>
internal static class CliErrors
{
    /// <summary>Prints <c>error: MESSAGE</c> on one line and returns <paramref name="exitCode"/>.</summary>
    public static int Report(int exitCode, string message)
    {
        Console.Error.WriteLine("error: " + OneLine(message));
        return exitCode;
    }

    /// <summary>Prints the one-line form of <paramref name="ex"/> and returns its exit code.</summary>
    public static int Report(Exception ex)
    {
        var (code, message) = Classify(ex);
        return Report(code, message);
    }

    /// <summary>The exit code and message of an exception that reached the top of a command.</summary>
    public static (int Code, string Message) Classify(Exception ex)
    {
        while (ex is AggregateException { InnerExceptions.Count: 1 } agg)
        {
            ex = agg.InnerExceptions[0];
        }
        return ex switch
        {
            CliException c => (c.ExitCode, c.Message),
            // A profile file is something the user named with --target: a usage problem.
            InvalidProfileException => (Program.Usage, ex.Message),
            UnsupportedOperatorException => (Program.Unsupported, ex.Message),
            ModelBridgeException => (Program.InvalidModel, ex.Message),
            InvalidDataException => (Program.InvalidModel, ex.Message),
            OnnxRuntimeException => (Program.InvalidModel, "ONNX Runtime: " + ex.Message),
            FileNotFoundException or DirectoryNotFoundException => (Program.Usage, ex.Message),
            PathTooLongException => (Program.Usage, ex.Message),
            UnauthorizedAccessException => (Program.IoError, ex.Message),
            IOException => (Program.IoError, ex.Message),
            ArgumentException a => (Program.Usage, WithoutParameter(a)),
            FormatException or JsonException => (Program.Usage, ex.Message),
            NotSupportedException => (Program.Unsupported, ex.Message),
            OutOfMemoryException => (Program.Internal, "out of memory: " + ex.Message),
            _ => (Program.Internal, $"internal error ({ex.GetType().Name}): {ex.Message} Please report this."),
        };
    }

    /// <summary>One line describing why <paramref name="parse"/> failed, with the help command to run.</summary>
    public static string DescribeParseErrors(ParseResult parse)
    {
        Command command = parse.CommandResult.Command;
        string path = CliHelp.CommandPath(command);
        string hint = $" See '{path} --help'.";
        if (parse.UnmatchedTokens.Count > 0)
        {
            string token = parse.UnmatchedTokens[0];
            if (token.StartsWith('-'))
            {
                IEnumerable<string> names = command.Options.Concat(parse.RootCommandResult.Command.Options.Where(o => o.Recursive))
                    .SelectMany(o => o.Aliases.Prepend(o.Name));
                return $"unknown option '{token}' for '{path}'{Suggest.DidYouMean(token, names)}{hint}";
            }
            if (command is RootCommand)
            {
                return $"unknown command '{token}'{Suggest.DidYouMean(token, command.Subcommands.Select(c => c.Name))} "
                    + $"Commands: {string.Join(", ", command.Subcommands.Select(c => c.Name))}.{hint}";
            }
            return $"unexpected argument '{token}' for '{path}'.{hint}";
        }
        if (command is RootCommand && parse.Tokens.Count == 0)
        {
            return $"no command given. Commands: {string.Join(", ", command.Subcommands.Select(c => c.Name))}.{hint}";
        }
        IEnumerable<string> messages = parse.Errors.Select(e => OneLine(e.Message)).Distinct()
            .Select(m => m.EndsWith('.') || m.EndsWith('?') ? m : m + ".");
        return string.Join(" ", messages) + hint;
    }

    private static string WithoutParameter(ArgumentException a)
    {
        // ArgumentException appends " (Parameter 'x')", which means nothing to a CLI user.
        string suffix = a.ParamName is null ? "" : $" (Parameter '{a.ParamName}')";
        return suffix.Length > 0 && a.Message.EndsWith(suffix, StringComparison.Ordinal) ? a.Message[..^suffix.Length] : a.Message;
    }

    /// <summary>Joins the lines of a multi-line message with "; " so that every failure is one line.</summary>
    private static string OneLine(string message)
    {
        string[] lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "unknown error"
            : lines.Length == 1 ? lines[0]
            : lines[0].TrimEnd(':') + ": " + string.Join("; ", lines.Skip(1).Select(l => l.TrimStart('-', '*', ' ')));
    }
}
