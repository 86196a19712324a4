using System.CommandLine;
using System.Globalization;
using ModelBridge.Profiles;
using ModelBridge.Verify;

namespace ModelBridge.Cli;

/// <summary>Options several commands share, built once per command so each has its own instance.</summary>
internal static class CliOptions
{
    /// <summary><c>--target/-t</c>: a built-in profile name (listed in help and completions) or a profile JSON file.</summary>
    public static Option<string> Target(bool required, string purpose)
    {
        var option = new Option<string>("--target", "-t")
        {
            Description = $"{purpose}: a built-in profile ({string.Join(", ", TargetProfile.BuiltInNames)}) or a profile JSON file",
            HelpName = "name|profile.json",
            Required = required,
        };
        option.CompletionSources.Add([.. TargetProfile.BuiltInNames]);
        return option;
    }

    /// <summary><c>--set-dim NAME=N</c> (repeatable).</summary>
    public static Option<string[]> SetDim() => new("--set-dim")
    {
        Description = "Pin a symbolic dimension the model declares, e.g. N=1 (repeatable)",
        HelpName = "NAME=N",
        AllowMultipleArgumentsPerToken = true,
    };

    /// <summary><c>--input-shape NAME=D0,D1,...</c> (repeatable).</summary>
    public static Option<string[]> InputShape() => new("--input-shape")
    {
        Description = "Fix a whole input shape, e.g. images=1,3,320,320 (repeatable): pins the input's symbolic dimensions",
        HelpName = "INPUT=D0,D1,...",
        AllowMultipleArgumentsPerToken = true,
    };

    /// <summary><c>--json</c>: exactly one JSON document on stdout.</summary>
    public static Option<bool> Json(string what) => new("--json") { Description = $"Print {what} as one JSON document on stdout (progress and logs go to stderr)" };

    /// <summary>
    /// Resolves <c>--target</c>: a built-in name, else an existing profile file. A name that is neither
    /// is refused with the built-in names and the closest one.
    /// </summary>
    public static TargetProfile ResolveTarget(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        IReadOnlyList<string> builtIn = TargetProfile.BuiltInNames;
        if (builtIn.Contains(value, StringComparer.Ordinal))
        {
            return TargetProfile.BuiltIn(value);
        }
        if (File.Exists(value))
        {
            return TargetProfile.Load(value);
        }
        if (Directory.Exists(value))
        {
            throw CliException.Usage($"--target '{value}' is a folder, not a profile JSON file.");
        }
        bool looksLikePath = value.Contains('/', StringComparison.Ordinal) || value.Contains('\\', StringComparison.Ordinal)
            || value.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        if (looksLikePath)
        {
            throw CliException.Usage($"--target: profile file '{Path.GetFullPath(value)}' does not exist.");
        }
        throw CliException.Usage($"unknown target '{value}'{Suggest.DidYouMean(value, builtIn)} Built-in targets: {string.Join(", ", builtIn)}; or give a profile JSON file.");
    }

    /// <summary>The three tolerance options of <c>verify</c> and <c>convert --verify</c>.</summary>
    public sealed class ToleranceOptions
    {
        /// <summary><c>--atol</c>.</summary>
        public Option<string?> Atol { get; } = new("--atol") { Description = "Absolute tolerance; replaces the target's base atol (pass contracts still widen it)", HelpName = "A" };

        /// <summary><c>--rtol</c>.</summary>
        public Option<string?> Rtol { get; } = new("--rtol") { Description = "Relative tolerance; replaces the target's base rtol (pass contracts still widen it)", HelpName = "R" };

        /// <summary><c>--cosine</c>.</summary>
        public Option<string?> Cosine { get; } = new("--cosine") { Description = "Least cosine similarity for --rule cosine; replaces the base floor (0.9999)", HelpName = "F" };

        /// <summary>Adds the three options to <paramref name="command"/>.</summary>
        public void AddTo(Command command)
        {
            command.Options.Add(Atol);
            command.Options.Add(Rtol);
            command.Options.Add(Cosine);
        }

        /// <summary>
        /// <paramref name="options"/> with its base tolerance (given, else the target's, else the default)
        /// overridden by whichever of the three options were given.
        /// </summary>
        public ParityOptions Apply(ParseResult parse, ParityOptions options)
        {
            double? atol = NonNegative(parse.GetValue(Atol), "--atol");
            double? rtol = NonNegative(parse.GetValue(Rtol), "--rtol");
            double? cosine = Parse(parse.GetValue(Cosine), "--cosine");
            if (cosine is < -1 or > 1)
            {
                throw CliException.Usage($"--cosine expects a similarity in [-1, 1], got {parse.GetValue(Cosine)}.");
            }
            if (atol is null && rtol is null && cosine is null)
            {
                return options;
            }
            Tolerance b = options.BaseTolerance;
            return options with
            {
                Tolerance = b with { Atol = atol ?? b.Atol, Rtol = rtol ?? b.Rtol, CosineFloor = cosine ?? b.CosineFloor },
            };
        }

        private static double? NonNegative(string? text, string flag) =>
            Parse(text, flag) is double v && v < 0 ? throw CliException.Usage($"{flag} expects a finite number >= 0, got {text}.") : Parse(text, flag);

        private static double? Parse(string? text, string flag)
        {
            if (text is null)
            {
                return null;
            }
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
                ? v
                : throw CliException.Usage($"{flag} expects a finite number such as 1e-4, got '{text}'.");
        }
    }
}
