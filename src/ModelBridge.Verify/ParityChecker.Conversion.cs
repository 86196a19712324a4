using ModelBridge.Ir;

namespace ModelBridge.Verify;

public static partial class ParityChecker
{
    /// <summary>
    /// Verifies a conversion in one call: compares <paramref name="conversion"/>'s model with
    /// <paramref name="original"/> through its tensor map, at the tolerance of the profile the conversion
    /// ran for (a custom profile included), with pass attribution by replaying the conversion
    /// (<see cref="ConversionResult.Replay"/>) — the hook behind <c>convert --verify</c>.
    /// </summary>
    /// <param name="original">The model that was converted.</param>
    /// <param name="conversion">The conversion's result; it carries the profile and options to replay.</param>
    /// <param name="options">
    /// Options; the target defaults to the conversion's profile, the pinned dims to the conversion's, and
    /// <see cref="ParityOptions.Attribution"/> to a replay of the conversion.
    /// </param>
    /// <param name="inputs">
    /// Samples; by default the <c>test_data_set_N</c> folders beside the original model's file, else one
    /// random sample (image01, seed 0).
    /// </param>
    /// <param name="progress">Progress receiver.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    public static ParityReport VerifyConversion(Model original, ConversionResult conversion, ParityOptions? options = null,
        ParityInputs? inputs = null, IProgress<ParityProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(conversion);
        options ??= ParityOptions.Default;
        options = options with { Target = options.Target ?? conversion.Profile };
        if (options.Dims.Count == 0 && conversion.Options.Dims.Count > 0)
        {
            options = options with { Dims = conversion.Options.Dims };
        }
        if (options.Attribution is null)
        {
            options = options with
            {
                Attribution = new PassBisection(conversion.PassIds, (disabled, ct) =>
                {
                    ConversionResult r = conversion.Replay(original, disabled, ct);
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
