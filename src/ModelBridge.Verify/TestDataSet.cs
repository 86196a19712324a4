using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf;
using ModelBridge.Ir;
using ModelBridge.Onnx;

namespace ModelBridge.Verify;

/// <summary>
/// One ONNX test-data folder (<c>test_data_set_N/</c>): the tensors in <c>input_K.pb</c> and
/// <c>output_K.pb</c>, each a serialised <c>TensorProto</c>, ordered by K.
/// </summary>
/// <remarks>
/// This is the layout of the ONNX backend test suite and of ModelBridge's fixtures. A tensor's
/// name comes from its <c>.pb</c> file; when that is empty it is taken from the model's K-th
/// graph input (initializer-backed inputs excluded, as ORT counts them) or K-th graph output.
/// </remarks>
public sealed partial class TestDataSet
{
    /// <summary>Creates a data set.</summary>
    public TestDataSet(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<NamedTensor> outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        Inputs = [.. inputs];
        Outputs = [.. outputs];
    }

    /// <summary>Inputs in file order (<c>input_0.pb</c> first).</summary>
    public IReadOnlyList<NamedTensor> Inputs { get; }

    /// <summary>Expected outputs in file order (<c>output_0.pb</c> first).</summary>
    public IReadOnlyList<NamedTensor> Outputs { get; }

    /// <summary>The inputs by name, as <see cref="OrtRunner.Run"/> takes them.</summary>
    /// <exception cref="InvalidOperationException">An input has no name, or two share one.</exception>
    public IReadOnlyDictionary<string, TensorData> InputsByName() => ByName(Inputs, "input");

    /// <summary>The expected outputs by name.</summary>
    /// <exception cref="InvalidOperationException">An output has no name, or two share one.</exception>
    public IReadOnlyDictionary<string, TensorData> OutputsByName() => ByName(Outputs, "output");

    /// <summary>The <c>test_data_set_N</c> folders under <paramref name="modelDirectory"/>, ordered by N.</summary>
    public static IReadOnlyList<string> FindFolders(string modelDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDirectory);
        if (!Directory.Exists(modelDirectory))
        {
            return [];
        }
        return [.. Directory.EnumerateDirectories(modelDirectory, "test_data_set_*")
            .Select(d => (Dir: d, N: IndexOf(Path.GetFileName(d), FolderPattern())))
            .Where(x => x.N >= 0)
            .OrderBy(x => x.N)
            .Select(x => x.Dir)];
    }

    /// <summary>Reads a test-data folder.</summary>
    /// <param name="folder">The <c>test_data_set_N</c> folder.</param>
    /// <param name="model">The model the data belongs to; supplies names the files leave empty.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="NotSupportedException">A tensor holds strings, or the model declares a non-tensor value (sequence, map, optional).</exception>
    /// <exception cref="InvalidDataException">A file is not a valid tensor, or the numbering has a gap.</exception>
    public static TestDataSet Read(string folder, Model? model = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Test-data folder '{folder}' does not exist.");
        }
        IReadOnlyList<Value>? inputs = model?.Graph.Inputs.Where(v => v.Initializer is null).ToList();
        IReadOnlyList<Value>? outputs = model?.Graph.Outputs;
        return new TestDataSet(ReadTensors(folder, "input", inputs), ReadTensors(folder, "output", outputs));
    }

    /// <summary>
    /// Writes the data set as <c>input_K.pb</c>/<c>output_K.pb</c> into <paramref name="folder"/>
    /// (created when missing). All files are written atomically together; afterwards, numbered
    /// files left over from a larger earlier data set are deleted.
    /// </summary>
    public void Write(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var files = new List<(string, Action<Stream>)>();
        AddFiles(files, folder, "input", Inputs);
        AddFiles(files, folder, "output", Outputs);
        AtomicFile.WriteAll(files);
        DeleteStale(folder, "input", Inputs.Count);
        DeleteStale(folder, "output", Outputs.Count);
    }

    private static void AddFiles(List<(string, Action<Stream>)> files, string folder, string prefix, IReadOnlyList<NamedTensor> tensors)
    {
        for (int k = 0; k < tensors.Count; k++)
        {
            NamedTensor t = tensors[k];
            string path = Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"{prefix}_{k}.pb"));
            files.Add((path, s => t.Data.ToProto(t.Name).WriteTo(s)));
        }
    }

    private static void DeleteStale(string folder, string prefix, int count)
    {
        foreach (var (path, k) in Numbered(folder, prefix).ToList())
        {
            if (k >= count)
            {
                File.Delete(path);
            }
        }
    }

    private static List<NamedTensor> ReadTensors(string folder, string prefix, IReadOnlyList<Value>? modelValues)
    {
        var result = new List<NamedTensor>();
        foreach (var (path, k) in Numbered(folder, prefix).OrderBy(x => x.K))
        {
            if (k != result.Count)
            {
                throw new InvalidDataException($"'{folder}' has {prefix}_{k}.pb but no {prefix}_{result.Count}.pb.");
            }
            Value? modelValue = modelValues is not null && k < modelValues.Count ? modelValues[k] : null;
            if (modelValue is not null && NonTensorKind(modelValue) is { } kind)
            {
                // The file holds a SequenceProto/MapProto/OptionalProto, which would misparse as a tensor.
                throw new NotSupportedException($"'{path}': {prefix} '{modelValue.Name}' is a {kind} in the model; only tensors are supported.");
            }
            TensorData data;
            string name;
            try
            {
                data = TensorData.Parse(File.ReadAllBytes(path), out name);
            }
            catch (Exception e) when (e is InvalidProtocolBufferException or Errors.InvalidModelException)
            {
                throw new InvalidDataException($"'{path}' is not a valid TensorProto (sequence, map and optional data are not supported): {e.Message}", e);
            }
            if (name.Length == 0 && modelValue is not null)
            {
                name = modelValue.Name;
            }
            result.Add(new NamedTensor(name, data));
        }
        return result;
    }

    /// <summary>"sequence", "map", "optional" or "sparse tensor" when the model declares a non-tensor type for the value.</summary>
    private static string? NonTensorKind(Value value) => (value.IsGraphOutput ? value.OutputInfo ?? value.Info : value.Info)?.Type?.ValueCase switch
    {
        OnnxProto.TypeProto.ValueOneofCase.SequenceType => "sequence",
        OnnxProto.TypeProto.ValueOneofCase.MapType => "map",
        OnnxProto.TypeProto.ValueOneofCase.OptionalType => "optional",
        OnnxProto.TypeProto.ValueOneofCase.SparseTensorType => "sparse tensor",
        _ => null,
    };

    private static IEnumerable<(string Path, int K)> Numbered(string folder, string prefix) =>
        Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, prefix + "_*.pb")
                .Select(p => (Path: p, K: IndexOf(Path.GetFileName(p), prefix == "input" ? InputPattern() : OutputPattern())))
                .Where(x => x.K >= 0)
            : [];

    private static int IndexOf(string fileName, Regex pattern)
    {
        Match m = pattern.Match(fileName);
        return m.Success && int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : -1;
    }

    private static Dictionary<string, TensorData> ByName(IReadOnlyList<NamedTensor> tensors, string role)
    {
        var map = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        for (int k = 0; k < tensors.Count; k++)
        {
            NamedTensor t = tensors[k];
            if (t.Name.Length == 0)
            {
                throw new InvalidOperationException($"{role}_{k} has no name; read the data set with its model to name it.");
            }
            if (!map.TryAdd(t.Name, t.Data))
            {
                throw new InvalidOperationException($"Two {role}s are named '{t.Name}'.");
            }
        }
        return map;
    }

    [GeneratedRegex(@"^test_data_set_(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex FolderPattern();

    [GeneratedRegex(@"^input_(\d+)\.pb$", RegexOptions.CultureInvariant)]
    private static partial Regex InputPattern();

    [GeneratedRegex(@"^output_(\d+)\.pb$", RegexOptions.CultureInvariant)]
    private static partial Regex OutputPattern();
}
