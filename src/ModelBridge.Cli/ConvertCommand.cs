using System.CommandLine;
using System.Globalization;
using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Shapes;
using ModelBridge.Surgery;
using ModelBridge.Verify;
using ModelBridge.Verify.Slimming;

namespace ModelBridge.Cli;

/// <summary>
/// <c>modelbridge convert MODEL --target T -o OUT.onnx [--set-dim N=1] [--input-shape X=1,3,H,W] [--disable PASS...]
/// [--json] [--force] [--split-postprocess] [--verify [--report DIR] [--atol A] [--rtol R] [--cosine F]] [surgery options]</c>:
/// writes OUT.onnx, OUT.map.json and OUT.manifest.json (and OUT.post.onnx with <c>--split-postprocess</c>), prints a
/// per-pass summary, the nodes still unsupported and the partitions; exits 3 when a target without CPU fallback
/// still has unsupported nodes (the output is written all the same).
/// </summary>
internal static partial class ConvertCommand
{
    /// <summary>Shown at the end of <c>convert --help</c>.</summary>
    public static readonly string[] Examples =
    [
        "modelbridge convert model.onnx --target ort-nnapi --set-dim N=1 -o out/model.onnx",
        "modelbridge convert model.onnx -t tflite-builtins --input-shape images=1,3,320,320 -o out/model.onnx --verify --report out/report",
        "modelbridge convert det.onnx -t ncnn -o out/det.onnx --drop-level P3 --keep-classes 0,2,4 --rename-outputs 'output_{index}'",
        "modelbridge convert model.onnx -t ort-nnapi -o out/model.onnx --verify --atol 1e-4 --json | jq .parity.passed",
        "modelbridge convert face.onnx -t ort-coreml-neuralnetwork -o out/face.onnx --split-postprocess --verify",
        "modelbridge convert det.onnx -t ort-nnapi --input-shape x=1,3,192,384 -o out/det.onnx --slim --target-macs 0.7 --calibration calib/ --preprocess preprocess.json --task binary-iou:sigmoid_0.tmp_0:0.3",
    ];

    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "ONNX model to convert (never modified)" };
        var target = CliOptions.Target(required: true, "Target to convert for");
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the converted model", Required = true, HelpName = "OUT.onnx" };
        var setDim = CliOptions.SetDim();
        var inputShape = CliOptions.InputShape();
        var disable = new Option<string[]>("--disable") { Description = "Pass ids to skip (repeatable)", AllowMultipleArgumentsPerToken = true, HelpName = "PASS" };
        var json = CliOptions.Json("the conversion summary (and with --verify the parity summary)");
        var force = new Option<bool>("--force") { Description = "Allow the output path to be the input path" };
        var separable = new Option<string?>("--lower-to-separable") { Description = "Factor standard convs whose node, output or weight name contains SCOPE (e.g. /fpn/, base_net.5) into depthwise + 1x1", HelpName = "SCOPE" };
        var keepInitializerInputs = new Option<bool>("--keep-initializer-inputs") { Description = "Keep initializers that are also listed as graph inputs (IR < 4 exports) overridable instead of making them constants" };
        var budget = new Option<string?>("--error-budget") { Description = "Relative weight error allowed per factored conv, in [0, 1) (0 = full rank)", HelpName = "E" };
        var dropOutputs = new Option<string[]>("--drop-outputs") { Description = "Graph outputs to remove, with everything that only fed them", AllowMultipleArgumentsPerToken = true, HelpName = "NAME" };
        var dropLevel = new Option<string[]>("--drop-level") { Description = "FPN levels whose head outputs to remove, e.g. P3", AllowMultipleArgumentsPerToken = true, HelpName = "LEVEL" };
        var keepClasses = new Option<string?>("--keep-classes") { Description = "Class ids to keep in the class heads, e.g. 0,2,5", HelpName = "IDS" };
        var keepAnchors = new Option<string?>("--keep-anchors") { Description = "Anchor ids to keep in the heads, e.g. 0,1,2", HelpName = "IDS" };
        var layout = new Option<string>("--layout") { Description = "Head channel layout: anchor-major (RetinaNet/torchvision, default) or class-major", DefaultValueFactory = _ => "anchor-major" };
        layout.CompletionSources.Add("anchor-major", "class-major");
        var rename = new Option<string?>("--rename-outputs") { Description = "Rename outputs by pattern ({kind}_{level}, output_{index}) or a JSON map file", HelpName = "PATTERN|MAP.json" };
        var order = new Option<string[]>("--order") { Description = "Output order: names or kinds (e.g. cls box)", AllowMultipleArgumentsPerToken = true };
        var canonical = new Option<bool>("--canonicalize-names") { Description = "Give internal values short stable names (t0, t1, ...)" };
        var splitPost = new Option<bool>("--split-postprocess") { Description = "Cut an unsupported post-processing tail into OUT.post.onnx, to run on the CPU" };
        var verify = new Option<bool>("--verify") { Description = "After converting, verify layer by layer in ONNX Runtime (inputs: test_data_set_* beside the model, else one random sample)" };
        var report = new Option<DirectoryInfo?>("--report") { Description = "With --verify: write parity.json, parity.md and parity.html here", HelpName = "DIR" };
        var rule = new Option<string>("--rule") { Description = "With --verify: elementwise | relative-to-max | cosine", DefaultValueFactory = _ => "elementwise" };
        rule.CompletionSources.Add("elementwise", "relative-to-max", "cosine");
        var tolerance = new CliOptions.ToleranceOptions();
        var cmd = new Command("convert", "Rewrite a model into a target's op subset; writes OUT.onnx, OUT.map.json and OUT.manifest.json")
        {
            model, target, output, setDim, inputShape, disable, json, force, keepInitializerInputs, separable, budget, dropOutputs, dropLevel, keepClasses, keepAnchors, layout, rename, order, canonical,
            splitPost, verify, report, rule,
        };
        tolerance.AddTo(cmd);
        var slimCli = new SlimCliOptions();
        slimCli.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            FileInfo input = parse.GetValue(model)!;
            FileInfo outFile = parse.GetValue(output)!;
            bool asJson = parse.GetValue(json), verifying = parse.GetValue(verify);
            if (string.Equals(Path.GetFullPath(input.FullName), Path.GetFullPath(outFile.FullName), StringComparison.Ordinal) && !parse.GetValue(force))
            {
                throw CliException.Usage($"the output path is the input path '{input.FullName}'; refusing to replace the input (use --force).");
            }
            if (Directory.Exists(outFile.FullName))
            {
                throw CliException.Usage($"--output '{outFile.FullName}' is a folder; give the file to write, e.g. {Path.Combine(outFile.FullName, input.Name)}.");
            }
            if (parse.GetValue(report) is not null && !verifying)
            {
                throw CliException.Usage("--report needs --verify.");
            }
            TargetProfile profile = CliOptions.ResolveTarget(parse.GetValue(target)!);
            bool slimming = slimCli.Requested(parse);
            (SlimOptions SlimOptions, IReadOnlyList<TaskAgreement> Tasks)? slimSettings = slimming ? slimCli.Read(parse) : null;
            OutputSurgeryOptions surgery = SurgeryOptions(parse, dropOutputs, dropLevel, keepClasses, keepAnchors, layout, rename, order, canonical);
            using Model original = CliSupport.LoadModel(input);
            var options = new ConvertOptions
            {
                Dims = DimPins.Resolve(parse.GetValue(setDim), parse.GetValue(inputShape), original.Graph),
                DisabledPasses = (parse.GetValue(disable) ?? []).ToHashSet(StringComparer.Ordinal),
                SeparableScope = parse.GetValue(separable),
                KeepInitializerInputs = parse.GetValue(keepInitializerInputs),
                ErrorBudget = ErrorBudget(parse.GetValue(budget)),
                Surgery = surgery,
            };
            // Tolerances and inputs are checked before the conversion, so a typo costs nothing.
            ParityOptions parityOptions = tolerance.Apply(parse, new ParityOptions { Target = profile, Dims = options.Dims, Rule = VerifyCommand.ParseRule(parse.GetValue(rule)!) });
            ParityInputs? samples = verifying ? VerifyCommand.Inputs(original, null, 0, options.Dims) : null;
            var slimNotes = new List<string>();
            if (slimSettings is { } checkedSettings)
            {
                SlimCliOptions.CheckTasks(checkedSettings.Tasks, original);
            }
            ParityInputs? heldOut = slimSettings is null ? null : slimCli.HeldOutInputs(parse, original, options.Dims, slimNotes);
            SlimResult? slim = slimSettings is { } settings ? PlanSlimming(slimCli, parse, original, profile, options, settings.SlimOptions) : null;
            if (slim is not null)
            {
                options = options with { Slimming = slim.Plan };
            }

            ConversionResult result = ModelConverter.Convert(original, profile, options);
            using Model converted = result.Model;
            using PostprocessSplitResult? split = parse.GetValue(splitPost) ? SplitPostprocess(result) : null;
            var outcome = new Outcome(
                split is null ? result.Remaining : ProfileChecker.Check(split.Main.Graph, profile, ShapeInference.Run(split.Main.Graph, new ShapeInferenceOptions { DimOverrides = options.Dims })),
                split, outFile.FullName, MapPathFor(outFile.FullName), ManifestPathFor(outFile.FullName), split is null ? null : PostPathFor(outFile.FullName));
            OutputManifest manifest = OutputManifest.Create(original, converted, result.TensorMap, surgery, profile);
            if (split is not null)
            {
                manifest = manifest.WithPostprocess(split, Path.GetFileName(outcome.PostPath)!, result.TensorMap);
            }
            string? slimJson = null, slimText = null;
            if (slim is not null && slimSettings is { } s)
            {
                SlimEvaluation evaluation = SlimEvaluation.Evaluate(original, converted, result.TensorMap, options.Dims, heldOut, s.Tasks);
                slimJson = SlimReport.ToJson(slim, evaluation, s.SlimOptions.TargetMacs);
                slimText = SlimReport.ToText(slim, evaluation, s.SlimOptions.TargetMacs) + string.Concat(slimNotes.Select(n => $"  note: {n}{Environment.NewLine}"));
            }
            (string, string)[] extra = slimJson is null
                ? [(outcome.ManifestPath, manifest.ToJson())]
                : [(outcome.ManifestPath, manifest.ToJson()), (SlimPathFor(outFile.FullName), slimJson)];
            // The save touches every weight page of the (memory-mapped) input; return the conversion's garbage
            // to the system first, so the two do not add up in the peak (benchmarks/RESULTS.md).
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            CliSupport.Writing(outFile.FullName, () => WriteOutputs(split?.Main ?? converted, result.TensorMap, outcome.ModelPath, outcome.MapPath,
                split is null ? null : (outcome.PostPath!, split.Post), extra));
            foreach (SeparableReport rep in result.SeparableReports)
            {
                Console.Error.WriteLine($"separable {rep}");
            }
            if (!asJson)
            {
                Print(input.Name, profile, result, outcome);
            }
            int code = Program.Ok;
            if (outcome.Undeployable(profile))
            {
                // The output is written all the same, so it can be inspected; the exit code says it will not run.
                Console.Error.WriteLine($"{profile.Name} has no CPU fallback and {outcome.Deployed.Unsupported.Count} node(s) are still unsupported: exit code {Program.Unsupported}");
                code = Program.Unsupported;
            }
            if (slimText is not null)
            {
                CliSupport.Text(asJson).Write(slimText);
                CliSupport.Text(asJson).WriteLine($"  wrote {SlimPathFor(outFile.FullName)}");
            }
            // One JSON document: the conversion, what slimming did, and the parity summary when verifying.
            System.Text.Json.Nodes.JsonNode? document = null;
            if (asJson)
            {
                document = System.Text.Json.JsonSerializer.SerializeToNode(Summary(result, outcome), CliSupport.Json)!;
                if (slimJson is not null)
                {
                    document["slimming"] = SlimNode(slimJson);
                }
            }
            if (verifying)
            {
                ParityReport parity = VerifyWritten(original, result, split, outcome, parityOptions, samples);
                if (split is not null)
                {
                    CliSupport.Text(asJson).WriteLine($"verify: {parity.Info.RewrittenModel} against {input.Name}");
                }
                IReadOnlyList<string> written = VerifyCommand.Finish(parity, parse.GetValue(report), asJson);
                if (document is not null)
                {
                    document["parity"] = VerifyCommand.SummaryNode(parity, written);
                }
                code = parity.Passed ? code : Program.ParityFailed;
            }
            if (document is not null)
            {
                Console.Out.WriteLine(document.ToJsonString(CliSupport.Json));
            }
            return code;
        });
        return cmd;
    }

    /// <summary>The split for <c>--split-postprocess</c>; a model whose unsupported nodes are not a tail is refused (exit 3, nothing written).</summary>
    private static PostprocessSplitResult? SplitPostprocess(ConversionResult result)
    {
        try
        {
            return PostprocessSplit.Split(result.Model, result.Remaining, result.Options.Dims);
        }
        catch (UnsupportedOperatorException ex)
        {
            throw new CliException(Program.Unsupported, $"--split-postprocess: {char.ToLowerInvariant(ex.Message[0])}{ex.Message[1..]}", ex);
        }
    }

    /// <summary>
    /// Verifies what was written against the original: the converted model, or with a split the main and
    /// post models stitched back by the tensors they pass (the report names both files).
    /// </summary>
    private static ParityReport VerifyWritten(Model original, ConversionResult result, PostprocessSplitResult? split, Outcome outcome,
        ParityOptions options, ParityInputs? samples)
    {
        string name = Path.GetFileName(outcome.ModelPath);
        if (split is null)
        {
            ParityReport plain = ParityChecker.VerifyConversion(original, result, options, samples, new VerifyCommand.StderrProgress());
            // The converted model in memory still carries the original's file name; name the file written.
            return new ParityReport(plain.Tensors, plain.Skipped, plain.Info with { RewrittenModel = name });
        }
        using Model stitched = PostprocessSplit.Stitch(split.Main, split.Post, split.Outputs);
        ParityReport parity = ParityChecker.VerifyConversion(original, result with { Model = stitched }, options, samples, new VerifyCommand.StderrProgress());
        return new ParityReport(parity.Tensors, parity.Skipped, parity.Info with { RewrittenModel = VerifyCommand.StitchedName(name, Path.GetFileName(outcome.PostPath)!, split.CutTensors) });
    }

    private static double ErrorBudget(string? text)
    {
        if (text is null)
        {
            return 0;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v is >= 0 and < 1
            ? v
            : throw CliException.Usage($"--error-budget expects a relative error in [0, 1), e.g. 0.03; got '{text}'.");
    }

    private static OutputSurgeryOptions SurgeryOptions(ParseResult parse, Option<string[]> dropOutputs, Option<string[]> dropLevel, Option<string?> keepClasses,
        Option<string?> keepAnchors, Option<string> layout, Option<string?> rename, Option<string[]> order, Option<bool> canonical)
    {
        string? renameArg = parse.GetValue(rename);
        bool renameIsMap = renameArg is not null && renameArg.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        if (renameIsMap && !File.Exists(renameArg))
        {
            throw CliException.Usage($"--rename-outputs: map file '{Path.GetFullPath(renameArg!)}' does not exist.");
        }
        return new OutputSurgeryOptions
        {
            DropOutputs = parse.GetValue(dropOutputs) ?? [],
            DropLevels = [.. (parse.GetValue(dropLevel) ?? []).Select(Level)],
            KeepClasses = Ids(parse.GetValue(keepClasses), "--keep-classes", "class"),
            KeepAnchors = Ids(parse.GetValue(keepAnchors), "--keep-anchors", "anchor"),
            Layout = parse.GetValue(layout) switch
            {
                "anchor-major" => HeadLayout.AnchorMajor,
                "class-major" => HeadLayout.ClassMajor,
                var other => throw CliException.Usage($"--layout expects anchor-major or class-major, got '{other}'."),
            },
            RenamePattern = renameIsMap ? null : renameArg,
            RenameMap = renameIsMap ? RenameMap(renameArg!) : null,
            Order = parse.GetValue(order) ?? [],
            CanonicalizeNames = parse.GetValue(canonical),
        };
    }

    private static int[]? Ids(string? text, string flag, string what)
    {
        if (text is null)
        {
            return null;
        }
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out ids[i]))
            {
                throw CliException.Usage($"{flag} expects comma-separated {what} ids such as 0,2,5; '{parts[i]}' in '{text}' is not a non-negative integer.");
            }
        }
        return ids;
    }

    private static int Level(string text)
    {
        try
        {
            return OutputSurgeryOptions.ParseLevel(text);
        }
        catch (FormatException ex)
        {
            throw CliException.Usage("--drop-level: " + ex.Message, ex);
        }
    }

    private static IReadOnlyDictionary<string, string> RenameMap(string path)
    {
        try
        {
            return OutputSurgeryOptions.ReadRenameMap(path);
        }
        catch (FormatException ex)
        {
            throw CliException.Usage($"--rename-outputs: '{Path.GetFullPath(path)}' is not a rename map: {ex.Message}", ex);
        }
    }
}
