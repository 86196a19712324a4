using ModelBridge.Ir;
using ModelBridge.Profiles;

namespace ModelBridge.Verify;

public static partial class ParityChecker
{
    /// <summary>
    /// Verifies a conversion in one call: compares <paramref name="conversion"/>'s model with
    /// <paramref name="original"/> through its tensor map, at the target's tolerance, with pass
    /// attribution by replaying <see cref="ModelConverter.Convert"/> (the hook behind <c>convert --verify</c>).
    /// </summary>
    /// <param name="original">The model that was converted.</param>
    /// <param name="conversion">The conversion's result.</param>
    /// <param name="options">
    /// Options; the target defaults to the built-in profile named by the conversion's report, and
    /// <see cref="ParityOptions.Attribution"/> to a replay of the conversion with <paramref name="convertOptions"/>.
    /// </param>
    /// <param name="inputs">
    /// Samples; by default the <c>test_data_set_N</c> folders beside the original model's file, else one
    /// random sample (image01, seed 0).
    /// </param>
    /// <param name="convertOptions">The options the conversion ran with (needed to replay it faithfully).</param>
    /// <param name="progress">Progress receiver.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    public static ParityReport VerifyConversion(Model original, ConversionResult conversion, ParityOptions? options = null,
        ParityInputs? inputs = null, ConvertOptions? convertOptions = null, IProgress<ParityProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(conversion);
        options ??= ParityOptions.Default;
        convertOptions ??= new ConvertOptions();
        TargetProfile? target = options.Target
            ?? (TargetProfile.BuiltInNames.Contains(conversion.Remaining.Target) ? TargetProfile.BuiltIn(conversion.Remaining.Target) : null);
        options = options with { Target = target };
        if (options.Dims.Count == 0 && convertOptions.Dims.Count > 0)
        {
            options = options with { Dims = convertOptions.Dims };
        }
        if (options.Attribution is null && target is not null)
        {
            ConvertOptions replayBase = convertOptions;
            options = options with
            {
                Attribution = new PassBisection(conversion.PassIds, (disabled, ct) =>
                {
                    var all = new HashSet<string>(replayBase.DisabledPasses, StringComparer.Ordinal);
                    all.UnionWith(disabled);
                    ConversionResult r = ModelConverter.Convert(original, target, replayBase with { DisabledPasses = all }, ct);
                    return new ConversionReplay(r.Model, r.TensorMap);
                }),
            };
        }
        inputs ??= DefaultInputs(original, options);
        return Compare(original, conversion.Model, conversion.TensorMap, inputs, options, progress, cancellationToken);
    }

    /// <summary>The test-data folders beside the model's file, else one random sample.</summary>
    public static ParityInputs DefaultInputs(Model original, ParityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(original);
        if (original.SourcePath is { } path && Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir
            && TestDataSet.FindFolders(dir) is { Count: > 0 } folders)
        {
            return ParityInputs.FromTestData(folders);
        }
        return ParityInputs.Random(1, 0, InputDistribution.Image01, options?.Dims);
    }
}
