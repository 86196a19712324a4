using System.CommandLine;

namespace ModelBridge.Cli;

/// <summary>
/// <c>modelbridge completion bash|zsh|pwsh</c>: prints a shell completion script.
/// </summary>
/// <remarks>
/// System.CommandLine 2.0.0 generates no shell scripts; what it offers is the <c>[suggest:POSITION]</c>
/// directive, which prints the completions for a command line (the protocol behind <c>dotnet-suggest</c>).
/// Each script asks <c>modelbridge "[suggest:N]" "LINE"</c> directly, so no global tool is needed and the
/// completions (verbs, options, built-in targets, rule names) always match the installed version.
/// </remarks>
internal static class CompletionCommand
{
    /// <summary>Shown at the end of <c>completion --help</c>.</summary>
    public static readonly string[] Examples =
    [
        "source <(modelbridge completion bash)                      # bash, or add it to ~/.bashrc",
        "modelbridge completion zsh > \"${fpath[1]}/_modelbridge\"     # zsh",
        "modelbridge completion pwsh | Out-String | Invoke-Expression # PowerShell, or add it to $PROFILE",
    ];

    /// <summary>The shells a script exists for.</summary>
    public static readonly string[] Shells = ["bash", "zsh", "pwsh"];

    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or pwsh (powershell)" };
        shell.CompletionSources.Add([.. Shells, "powershell"]);
        var cmd = new Command("completion", "Print a shell completion script for bash, zsh or PowerShell") { shell };
        cmd.SetAction(parse =>
        {
            string name = parse.GetValue(shell)!;
            Console.Out.Write(Script(name));
            return Program.Ok;
        });
        return cmd;
    }

    /// <summary>The completion script for <paramref name="shell"/>.</summary>
    public static string Script(string shell) => shell.ToLowerInvariant() switch
    {
        "bash" => Bash,
        "zsh" => Zsh,
        "pwsh" or "powershell" => PowerShell,
        _ => throw CliException.Usage($"completion: unknown shell '{shell}'{Suggest.DidYouMean(shell, [.. Shells, "powershell"])} Shells: {string.Join(", ", Shells)}."),
    };

    private const string Bash = """
        # modelbridge completion for bash: source <(modelbridge completion bash)
        _modelbridge_complete()
        {
            local IFS=$'\n'
            local line="${COMP_LINE:0:COMP_POINT}"
            COMPREPLY=( $(compgen -W "$(modelbridge "[suggest:${#line}]" "$line" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _modelbridge_complete modelbridge

        """;

    private const string Zsh = """
        #compdef modelbridge
        # modelbridge completion for zsh: modelbridge completion zsh > "${fpath[1]}/_modelbridge"
        _modelbridge()
        {
            local line="${BUFFER[1,CURSOR]}"
            local -a candidates
            candidates=("${(@f)$(modelbridge "[suggest:${#line}]" "$line" 2>/dev/null)}")
            if (( ${#candidates} )) && [[ -n "${candidates[1]}" ]]; then
                compadd -a candidates
            else
                _files
            fi
        }
        # Autoloaded from $fpath the file is the function's body; sourced, it registers the function.
        if [[ "${funcstack[1]}" == "_modelbridge" ]]; then
            _modelbridge "$@"
        else
            compdef _modelbridge modelbridge
        fi

        """;

    private const string PowerShell = """
        # modelbridge completion for PowerShell: modelbridge completion pwsh | Out-String | Invoke-Expression
        Register-ArgumentCompleter -Native -CommandName modelbridge -ScriptBlock {
            param($wordToComplete, $commandAst, $cursorPosition)
            $line = $commandAst.ToString()
            $offset = $cursorPosition - $commandAst.Extent.StartOffset
            if ($offset -lt $line.Length) { $line = $line.Substring(0, $offset) }
            if ($line.Length -lt $offset) { $line = $line.PadRight($offset) }
            modelbridge "[suggest:$($line.Length)]" "$line" 2>$null | ForEach-Object {
                [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
            }
        }

        """;
}
