using System.CommandLine;

namespace ModelBridge.Cli;

/// <summary>The <c>modelbridge</c> command line.</summary>
public static class Program
{
    /// <summary>Exit code: success.</summary>
    public const int Ok = 0;

    /// <summary>Exit code: the model is invalid or could not be read.</summary>
    public const int InvalidModel = 2;

    /// <summary>Exit code of <c>check</c>: at least one node is not supported by the target.</summary>
    public const int Unsupported = 3;

    /// <summary>Exit code of <c>verify</c>: a tensor of the converted model diverges from the original.</summary>
    public const int ParityFailed = 4;

    /// <summary>Exit code: bad command-line usage.</summary>
    public const int Usage = 64;

    /// <summary>Builds the command tree (also used by tests).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("ModelBridge: rewrite ONNX models for phone runtimes and verify them layer by layer.");
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(CheckCommand.Create());
        root.Subcommands.Add(ProfileCommand.Create());
        root.Subcommands.Add(VerifyCommand.Create());
        return root;
    }

    /// <summary>Entry point.</summary>
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();
}
