using ModelBridge.Ir;

namespace ModelBridge.Verify;

/// <summary>
/// The samples a parity check feeds to both graphs: ONNX test-data folders, images, tensors built
/// in code, or seeded random samples of a chosen distribution.
/// </summary>
public abstract class ParityInputs
{
    private protected ParityInputs()
    {
    }

    /// <summary>One sample per <c>test_data_set_N</c> folder (only the inputs are used).</summary>
    /// <exception cref="ArgumentException">No folder is given.</exception>
    public static ParityInputs FromTestData(params IReadOnlyList<string> folders)
    {
        ArgumentNullException.ThrowIfNull(folders);
        if (folders.Count == 0)
        {
            throw new ArgumentException("Give at least one test-data folder.", nameof(folders));
        }
        return new TestDataInputs([.. folders]);
    }

    /// <summary>
    /// One sample per PNG/JPEG image in <paramref name="directory"/>, in file-name order, preprocessed
    /// by <paramref name="options"/> (<see cref="ImagePreprocessing.Default"/> when null) for the
    /// original model's image input. The folder is listed now; the images are read when the check runs.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="ArgumentException">The folder holds no image.</exception>
    public static ParityInputs FromImages(string directory, ImagePreprocessing? options = null)
    {
        IReadOnlyList<string> files = ImageLoader.FindImagesOrThrow(directory);
        return new ImageInputs(directory, files.Count, options ?? ImagePreprocessing.Default);
    }

    /// <summary>The given samples, each a tensor per graph input name.</summary>
    /// <exception cref="ArgumentException">No sample is given.</exception>
    public static ParityInputs FromTensors(params IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
        {
            throw new ArgumentException("Give at least one sample.", nameof(samples));
        }
        return new TensorInputs([.. samples]);
    }

    /// <summary>
    /// <paramref name="count"/> samples from <see cref="InputGenerator"/>; sample i uses seed
    /// <paramref name="seed"/> + i. Symbolic dimensions not in <paramref name="dims"/> are 1.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1.</exception>
    public static ParityInputs Random(int count, int seed = 0, InputDistribution? distribution = null, IReadOnlyDictionary<string, long>? dims = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return new RandomInputs(count, seed, distribution ?? InputDistribution.Image01, dims ?? new Dictionary<string, long>());
    }

    /// <summary>Human-readable description for reports (<c>3 random samples (image01, seed 7)</c>).</summary>
    public abstract string Description { get; }

    /// <summary>The samples for <paramref name="original"/>'s inputs.</summary>
    public abstract IReadOnlyList<IReadOnlyDictionary<string, TensorData>> Materialize(Model original);

    /// <inheritdoc/>
    public override string ToString() => Description;

    private sealed class TestDataInputs(IReadOnlyList<string> folders) : ParityInputs
    {
        public override string Description => folders.Count == 1
            ? $"test data {Path.GetFileName(Path.TrimEndingDirectorySeparator(folders[0]))}"
            : $"{folders.Count} test-data folders";

        public override IReadOnlyList<IReadOnlyDictionary<string, TensorData>> Materialize(Model original) =>
            [.. folders.Select(f => TestDataSet.Read(f, original).InputsByName())];
    }

    private sealed class ImageInputs(string directory, int count, ImagePreprocessing options) : ParityInputs
    {
        public override string Description => $"{ImageLoader.Describe(directory, count)} ({options})";

        public override IReadOnlyList<IReadOnlyDictionary<string, TensorData>> Materialize(Model original) =>
            ImageLoader.LoadSamples(directory, original, options);
    }

    private sealed class TensorInputs(IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples) : ParityInputs
    {
        public override string Description => samples.Count == 1 ? "1 sample" : $"{samples.Count} samples";

        public override IReadOnlyList<IReadOnlyDictionary<string, TensorData>> Materialize(Model original) => samples;
    }

    private sealed class RandomInputs(int count, int seed, InputDistribution distribution, IReadOnlyDictionary<string, long> dims) : ParityInputs
    {
        public override string Description => $"{count} random sample{(count == 1 ? "" : "s")} ({distribution}, seed {seed})";

        public override IReadOnlyList<IReadOnlyDictionary<string, TensorData>> Materialize(Model original) =>
            [.. Enumerable.Range(0, count).Select(i =>
                new InputGenerator(seed + i) { Distribution = distribution, SymbolicDims = dims }.Generate(original.Graph))];
    }
}
