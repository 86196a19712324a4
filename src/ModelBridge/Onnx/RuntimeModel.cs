using System.Globalization;
using Google.Protobuf;
using ModelBridge.Ir;
using ModelBridge.OnnxProto;

namespace ModelBridge.Onnx;

/// <summary>
/// A model serialised for a runtime session without copying its weights: every initializer that is a
/// view into a memory-mapped model file (what <see cref="Model.Load(string, LoadOptions?)"/> gives for
/// large files) is written as an external-data reference to that very file and range, so the runtime
/// reads the payload from the file itself; only the structure and the small or computed tensors are
/// serialised. Extra outputs are appended while exporting, so the model is neither edited nor cloned.
/// </summary>
internal static class RuntimeModel
{
    /// <summary>The serialised model, and the folder its external-data locations are relative to (null: none).</summary>
    /// <param name="Bytes">Protobuf bytes; null when they would exceed the inline limit (use <see cref="SaveWithExternalData"/>).</param>
    /// <param name="ExternalFolder">The folder of the referenced file, to give the runtime as the model's folder.</param>
    /// <param name="ExternalBytes">Payload bytes left in the file instead of serialised.</param>
    internal sealed record Result(byte[]? Bytes, string? ExternalFolder, long ExternalBytes);

    /// <summary>Serialises <paramref name="model"/> with <paramref name="extraOutputs"/> appended to its outputs.</summary>
    /// <param name="model">The model (not changed).</param>
    /// <param name="extraOutputs">Main-graph values to expose as outputs too.</param>
    /// <param name="onlyExtraOutputs">Make <paramref name="extraOutputs"/> the only outputs and keep only what they depend on.</param>
    /// <param name="inlineLimit">Past this many serialised bytes, no bytes are returned (the caller saves with external data).</param>
    /// <param name="threshold">Initializers smaller than this many bytes are always serialised inline.</param>
    public static Result Serialize(Model model, IReadOnlyList<Value> extraOutputs, bool onlyExtraOutputs = false, long inlineLimit = 1L << 30,
        long threshold = 1024)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(extraOutputs);
        var plan = new FileReferencePlan(threshold);
        ModelProto proto = OnnxExporter.Export(model, SaveOptions.Default, plan, extraOutputs: extraOutputs, onlyExtraOutputs: onlyExtraOutputs);
        long size = proto.CalculateSize();
        return size > Math.Min(inlineLimit, int.MaxValue)
            ? new Result(null, null, 0)
            : new Result(proto.ToByteArray(), plan.Folder, plan.Bytes);
    }

    /// <summary>
    /// Saves <paramref name="model"/> (with <paramref name="extraOutputs"/>) to <paramref name="path"/> with
    /// every initializer of 1 KiB or more in a side file beside it, for models whose weights are not
    /// mapped from one file and are too large to serialise inline (external data, over 1 GiB).
    /// </summary>
    public static void SaveWithExternalData(Model model, IReadOnlyList<Value> extraOutputs, bool onlyExtraOutputs, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var plan = new ExternalDataPlan(new ExternalDataOptions(Path.GetFileName(path) + ".data"));
        ModelProto proto = OnnxExporter.Export(model, SaveOptions.Default, plan, extraOutputs: extraOutputs, onlyExtraOutputs: onlyExtraOutputs);
        string dataPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", plan.Options.FileName);
        AtomicFile.WriteAll(
        [
            (dataPath, plan.WriteTo),
            (path, s =>
            {
                using var output = new CodedOutputStream(s, leaveOpen: true);
                proto.WriteTo(output);
                output.Flush();
            }),
        ]);
    }

    private sealed class FileReferencePlan(long threshold) : IInitializerPlacement
    {
        public string? Folder { get; private set; }

        public long Bytes { get; private set; }

        public TensorProto? Place(Value v)
        {
            Tensor t = v.Initializer!;
            if (t.DataType == DataType.String || t.ExpectedByteLength < Math.Max(1, threshold))
            {
                return null;
            }
            ReadOnlyMemory<byte> data = t.Data;
            if (data.Length != t.ExpectedByteLength || !ModelBytes.TryGetFileRange(data, out string path, out long offset))
            {
                // Computed tensors, small files read into memory, malformed payloads: inline (the runtime judges them).
                return null;
            }
            string folder = Path.GetDirectoryName(path) ?? ".";
            Folder ??= folder;
            if (!string.Equals(Folder, folder, StringComparison.Ordinal))
            {
                // One session resolves locations against one folder; a second folder's tensors go inline.
                return null;
            }
            Bytes += data.Length;
            var p = new TensorProto { Name = v.Name, DataType = (int)t.DataType, DataLocation = TensorProto.Types.DataLocation.External };
            p.Dims.Add(t.Dims);
            p.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = Path.GetFileName(path) });
            p.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
            p.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = data.Length.ToString(CultureInfo.InvariantCulture) });
            return p;
        }
    }
}
