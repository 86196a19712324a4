using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Verify;
using ModelBridge.Verify.Slimming;

namespace ModelBridge.Cli;

/// <summary>
/// <c>convert --slim [SCOPE] --target-macs F [--calibration DIR] [--holdout DIR] [--task SPEC]</c>: plans the
/// slimming (<see cref="Slimmer"/>) before the conversion, and after it reports what it was worth
/// (<see cref="SlimEvaluation"/>) and writes <c>OUT.slim.json</c>.
/// </summary>
internal static partial class ConvertCommand
{
    /// <summary>The slimming options of <c>convert</c>.</summary>
    internal sealed class SlimCliOptions
    {
        /// <summary><c>--slim [SCOPE]</c>.</summary>
        public Option<string?> Slim { get; } = new("--slim")
        {
            Description = "Slim standard convs (all, or those whose node, output or weight name contains SCOPE) by low-rank factorisation to meet --target-macs",
            HelpName = "SCOPE",
            Arity = ArgumentArity.ZeroOrOne,
        };

        /// <summary><c>--target-macs F</c>.</summary>
        public Option<string?> TargetMacs { get; } = new("--target-macs") { Description = "With --slim: the slimmed model's MACs as a fraction of the original's, in (0, 1]", HelpName = "F" };

        /// <summary><c>--calibration DIR</c>.</summary>
        public Option<DirectoryInfo?> Calibration { get; } = new("--calibration")
        {
            Description = "With --slim: calibration inputs (test_data_set_* folders or PNG/JPEG images) to fit the factors to real activations; without, factors fit the weights",
            HelpName = "DIR",
        };

        /// <summary><c>--holdout DIR</c>.</summary>
        public Option<DirectoryInfo?> HoldOut { get; } = new("--holdout")
        {
            Description = "With --slim: held-out inputs for the report's output error (default: the test_data_set_* beside the model, unless they are the calibration inputs)",
            HelpName = "DIR",
        };

        /// <summary><c>--task SPEC</c> (repeatable).</summary>
        public Option<string[]> Task { get; } = new("--task")
        {
            Description = "With --slim: a task-level agreement for the report, binary-iou:OUTPUT:T or topk-overlap:OUTPUT:K[:CHANNEL] (repeatable)",
            HelpName = "SPEC",
            AllowMultipleArgumentsPerToken = true,
        };

        /// <summary>The image preprocessing of the calibration and held-out folders.</summary>
        public ImageInputOptions Images { get; } = new();

        /// <summary>Adds the options to <paramref name="command"/>.</summary>
        public void AddTo(Command command)
        {
            command.Options.Add(Slim);
            command.Options.Add(TargetMacs);
            command.Options.Add(Calibration);
            command.Options.Add(HoldOut);
            command.Options.Add(Task);
            Images.AddTo(command);
        }

        /// <summary>Whether <c>--slim</c> was given; refuses the slimming options without it.</summary>
        public bool Requested(ParseResult parse)
        {
            bool slim = parse.GetResult(Slim) is not null;
            if (!slim)
            {
                string? stray = parse.GetValue(TargetMacs) is not null ? "--target-macs"
                    : parse.GetValue(Calibration) is not null ? "--calibration"
                    : parse.GetValue(HoldOut) is not null ? "--holdout"
                    : parse.GetValue(Task) is { Length: > 0 } ? "--task"
                    : null;
                if (stray is not null)
                {
                    throw CliException.Usage($"{stray} needs --slim.");
                }
            }
            return slim;
        }

        /// <summary>The slimming settings, checked before anything runs.</summary>
        public (SlimOptions Options, IReadOnlyList<TaskAgreement> Tasks) Read(ParseResult parse)
        {
            string? text = parse.GetValue(TargetMacs)
                ?? throw CliException.Usage("--slim needs --target-macs F, the slimmed model's MACs as a fraction of the original's (e.g. 0.7).");
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) || !(f > 0 && f <= 1))
            {
                throw CliException.Usage($"--target-macs expects a fraction in (0, 1], e.g. 0.7; got '{text}'.");
            }
            var tasks = new List<TaskAgreement>();
            foreach (string spec in parse.GetValue(Task) ?? [])
            {
                try
                {
                    tasks.Add(TaskAgreement.Parse(spec));
                }
                catch (FormatException ex)
                {
                    throw CliException.Usage("--task: " + ex.Message, ex);
                }
            }
            return (new SlimOptions { Scope = parse.GetValue(Slim) ?? string.Empty, TargetMacs = f }, tasks);
        }

        /// <summary>Refuses a <c>--task</c> that names an output the model does not have.</summary>
        public static void CheckTasks(IReadOnlyList<TaskAgreement> tasks, Model original)
        {
            foreach (TaskAgreement t in tasks)
            {
                if (!original.Graph.Outputs.Any(o => o.Name == t.Output))
                {
                    IEnumerable<string> names = original.Graph.Outputs.Select(o => o.Name);
                    throw CliException.Usage($"--task: the model has no output '{t.Output}'{Suggest.DidYouMean(t.Output, names)} Its outputs: {string.Join(", ", names)}.");
                }
            }
        }

        /// <summary>The calibration samples (null: fit to the weights).</summary>
        public ParityInputs? CalibrationInputs(ParseResult parse, Model original, IReadOnlyDictionary<string, long> dims) =>
            parse.GetValue(Calibration) is { } dir ? Images.Samples(parse, dir, "--calibration", original, dims) : null;

        /// <summary>The held-out samples: <c>--holdout</c>, else the test data beside the model unless that is the calibration folder.</summary>
        public ParityInputs? HeldOutInputs(ParseResult parse, Model original, IReadOnlyDictionary<string, long> dims, List<string> notes)
        {
            if (parse.GetValue(HoldOut) is { } dir)
            {
                if (parse.GetValue(Calibration) is { } cal && SamePath(cal.FullName, dir.FullName))
                {
                    throw CliException.Usage($"--holdout '{dir.FullName}' is the calibration folder; held-out inputs must not be used for calibration.");
                }
                return Images.Samples(parse, dir, "--holdout", original, dims);
            }
            if (original.SourcePath is not { } path || Path.GetDirectoryName(Path.GetFullPath(path)) is not { } modelDir
                || TestDataSet.FindFolders(modelDir) is not { Count: > 0 } folders)
            {
                notes.Add("no held-out inputs (give --holdout DIR): the output error on unseen inputs is not measured");
                return null;
            }
            if (parse.GetValue(Calibration) is { } calibration && SamePath(calibration.FullName, modelDir))
            {
                notes.Add("the test data beside the model is the calibration set, so there are no held-out inputs (give --holdout DIR)");
                return null;
            }
            return ParityInputs.FromTestData(folders);
        }

        private static bool SamePath(string a, string b) =>
            string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);
    }

    /// <summary>Plans the slimming; the plan goes into the conversion options.</summary>
    private static SlimResult PlanSlimming(SlimCliOptions cli, ParseResult parse, Model original, TargetProfile profile, ConvertOptions options, SlimOptions slim)
    {
        if (options.SeparableScope is not null)
        {
            throw CliException.Usage("--slim chooses each conv's factorisation itself; it cannot be combined with --lower-to-separable.");
        }
        ParityInputs? calibration = cli.CalibrationInputs(parse, original, options.Dims);
        SlimResult plan = Slimmer.Plan(original, profile, options, calibration, slim, new VerifyCommand.StderrProgress());
        if (!plan.Allocation.Met)
        {
            throw CliException.Usage(string.Create(CultureInfo.InvariantCulture,
                $"--target-macs {slim.TargetMacs} cannot be met: slimming every candidate conv to its cheapest rank leaves {plan.Allocation.Fraction:P1} of the MACs ({plan.Allocation.Macs:N0} of {plan.Allocation.ModelMacs:N0}); raise F{(slim.Scope.Length > 0 ? " or widen the --slim scope" : "")}."));
        }
        return plan;
    }

    /// <summary>The report's JSON as a node of the <c>--json</c> document.</summary>
    private static JsonNode SlimNode(string json) => JsonNode.Parse(json)!;
}
