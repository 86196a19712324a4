using ModelBridge.Errors;
using ModelBridge.Onnx;
using ModelBridge.OnnxProto;

namespace ModelBridge.Ir;

/// <summary>An opset import: a domain and the operator-set version the model uses from it.</summary>
/// <param name="Domain">Domain; empty for the default ONNX domain.</param>
/// <param name="Version">Operator-set version.</param>
public sealed record OpsetImport(string Domain, long Version);

/// <summary>
/// An ONNX model: metadata, opset imports and the main <see cref="Ir.Graph"/>.
/// </summary>
/// <remarks>
/// A loaded model's initializers are views over the file's bytes (a managed buffer, or a memory
/// map for large files); dispose the model to release the map. Functions, training info and
/// fields this version does not model are carried through unchanged. Loading never modifies the
/// input file; saving is atomic. A model is not thread-safe; separate models may be used on
/// separate threads.
/// </remarks>
public sealed class Model : IDisposable
{
    private ModelBytes? _bytes;

    internal Model(ModelProto template, ModelBytes? bytes, string? sourcePath)
    {
        Template = template;
        _bytes = bytes;
        SourcePath = sourcePath;
        Graph = null!;
    }

    /// <summary>Creates an empty model with the given default-domain opset.</summary>
    public Model(long opsetVersion, long irVersion = 8)
        : this(new ModelProto { IrVersion = irVersion, ProducerName = "ModelBridge" }, null, null)
    {
        Template.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = opsetVersion });
        Graph = new Graph(this, "main", null);
    }

    /// <summary>The main graph.</summary>
    public Graph Graph { get; internal set; }

    /// <summary>Full path of the file the model was loaded from, if any.</summary>
    public string? SourcePath { get; }

    /// <summary>Model-level fields not modelled by the IR (graph excluded).</summary>
    internal ModelProto Template { get; }

    /// <summary>ONNX IR version.</summary>
    public long IrVersion { get => Template.IrVersion; set => Template.IrVersion = value; }

    /// <summary>Producer name.</summary>
    public string ProducerName { get => Template.ProducerName; set => Template.ProducerName = value; }

    /// <summary>Producer version.</summary>
    public string ProducerVersion { get => Template.ProducerVersion; set => Template.ProducerVersion = value; }

    /// <summary>Model domain.</summary>
    public string Domain { get => Template.Domain; set => Template.Domain = value; }

    /// <summary>Model version.</summary>
    public long ModelVersion { get => Template.ModelVersion; set => Template.ModelVersion = value; }

    /// <summary>Documentation string.</summary>
    public string DocString { get => Template.DocString; set => Template.DocString = value; }

    /// <summary>Opset imports in file order.</summary>
    public IReadOnlyList<OpsetImport> OpsetImports => [.. Template.OpsetImport.Select(o => new OpsetImport(o.Domain, o.Version))];

    /// <summary>Metadata key/value pairs in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> MetadataProps =>
        [.. Template.MetadataProps.Select(p => new KeyValuePair<string, string>(p.Key, p.Value))];

    /// <summary>Number of model-local functions carried by the model.</summary>
    public int FunctionCount => Template.Functions.Count;

    /// <summary>The version imported for <paramref name="domain"/> ("" and "ai.onnx" are the same), or null.</summary>
    public long? GetOpsetVersion(string domain)
    {
        bool standard = domain.Length == 0 || domain == "ai.onnx";
        foreach (OperatorSetIdProto o in Template.OpsetImport)
        {
            if (o.Domain == domain || (standard && (o.Domain.Length == 0 || o.Domain == "ai.onnx")))
            {
                return o.Version;
            }
        }
        return null;
    }

    /// <summary>Sets (adds or changes) the version imported for <paramref name="domain"/>.</summary>
    public void SetOpsetVersion(string domain, long version)
    {
        bool standard = domain.Length == 0 || domain == "ai.onnx";
        foreach (OperatorSetIdProto o in Template.OpsetImport)
        {
            if (o.Domain == domain || (standard && (o.Domain.Length == 0 || o.Domain == "ai.onnx")))
            {
                o.Version = version;
                Graph.MarkChanged();
                return;
            }
        }
        Template.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        Graph.MarkChanged();
    }

    /// <summary>Sets (adds or replaces) a metadata entry.</summary>
    public void SetMetadata(string key, string value)
    {
        StringStringEntryProto? e = Template.MetadataProps.FirstOrDefault(p => p.Key == key);
        if (e is null)
        {
            Template.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        else
        {
            e.Value = value;
        }
    }

    /// <summary>Loads a model from a file; external data is resolved against the file's folder.</summary>
    public static Model Load(string path, LoadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= LoadOptions.Default;
        string full = Path.GetFullPath(path);
        ModelBytes bytes = ModelBytes.FromFile(full, options.MemoryMapThreshold);
        try
        {
            string baseDir = options.BaseDirectory ?? Path.GetDirectoryName(full) ?? ".";
            return FromBytes(bytes, new ExternalDataReader(baseDir), Path.GetFileName(full), full);
        }
        catch
        {
            bytes.Release();
            throw;
        }
    }

    /// <summary>Loads a model from a stream (read to its end).</summary>
    public static Model Load(Stream stream, LoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        return Load(new ReadOnlyMemory<byte>(ms.GetBuffer(), 0, (int)ms.Length), options);
    }

    /// <summary>Loads a model from bytes, which are used in place: the caller must not change them.</summary>
    public static Model Load(ReadOnlyMemory<byte> bytes, LoadOptions? options = null)
    {
        options ??= LoadOptions.Default;
        ExternalDataReader? external = options.BaseDirectory is { } dir ? new ExternalDataReader(dir) : null;
        return FromBytes(ModelBytes.FromArray(bytes), external, "<bytes>", null);
    }

    private static Model FromBytes(ModelBytes bytes, ExternalDataReader? external, string context, string? sourcePath)
    {
        var (proto, inits) = OnnxReader.Parse(bytes.Memory.Span, context);
        return OnnxImporter.Import(proto, inits, bytes, external, sourcePath);
    }

    /// <summary>Serialises the model to protobuf bytes (external data, if requested, is not supported here).</summary>
    public byte[] ToBytes(SaveOptions? options = null)
    {
        using var ms = new MemoryStream();
        Save(ms, options);
        return ms.ToArray();
    }

    /// <summary>Writes the model to a stream. External data needs a path: use <see cref="Save(string, SaveOptions?)"/>.</summary>
    public void Save(Stream stream, SaveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= SaveOptions.Default;
        if (options.ExternalData is not null)
        {
            throw new ArgumentException("External data can only be written when saving to a path.", nameof(options));
        }
        ModelProto proto = OnnxExporter.Export(this, options, null);
        WriteProto(proto, stream);
    }

    /// <summary>
    /// Writes the model to <paramref name="path"/> atomically (temporary file, flush, rename); with
    /// <see cref="SaveOptions.ExternalData"/>, large initializers go to a side file beside it.
    /// </summary>
    public void Save(string path, SaveOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= SaveOptions.Default;
        ExternalDataPlan? plan = null;
        if (options.ExternalData is { } ext)
        {
            if (ext.FileName.Contains('/', StringComparison.Ordinal) || ext.FileName.Contains('\\', StringComparison.Ordinal) || ext.FileName is "." or "..")
            {
                throw new ArgumentException($"External data file name '{ext.FileName}' must be a plain file name.", nameof(options));
            }
            plan = new ExternalDataPlan(ext);
        }
        ModelProto proto = OnnxExporter.Export(this, options, plan);
        var files = new List<(string, Action<Stream>)>();
        if (plan is not null)
        {
            string dataPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", plan.Options.FileName);
            files.Add((dataPath, plan.WriteTo));
        }
        files.Add((path, s => WriteProto(proto, s)));
        AtomicFile.WriteAll(files);
    }

    private static void WriteProto(ModelProto proto, Stream stream)
    {
        long size = proto.CalculateSize();
        if (size > int.MaxValue)
        {
            throw new InvalidOperationException($"The model serialises to {size} bytes, past protobuf's 2 GiB limit; save with SaveOptions.ExternalData.");
        }
        using var output = new Google.Protobuf.CodedOutputStream(stream, leaveOpen: true);
        proto.WriteTo(output);
        output.Flush();
    }

    /// <summary>
    /// A deep copy of the structure that shares the (immutable) initializer payloads, so that a
    /// rewrite of the copy never changes this model.
    /// </summary>
    public Model Clone()
    {
        // Export builds fresh graph and node messages; the attribute, value-info and tensor messages
        // they point to are never edited in place by the IR, so only the model-level fields (opset
        // imports and metadata are edited in place) need a deep copy.
        ModelProto proto = OnnxExporter.Export(this, SaveOptions.Default, null, includeInitializers: false);
        GraphProto g = proto.Graph;
        proto.Graph = null;
        proto = proto.Clone();
        _bytes?.AddRef();
        var clone = new Model(proto, _bytes, SourcePath);
        clone.Graph = OnnxImporter.ImportGraph(clone, g, [.. Graph.Initializers.Select(v => (v.Name, v.Initializer!))]);
        foreach (Value v in Graph.Values)
        {
            if (v.DeclaredType is not null && clone.Graph.FindValue(v.Name) is { } cv)
            {
                cv.DeclaredType = v.DeclaredType;
            }
        }
        return clone;
    }

    /// <summary>Releases the memory map of a large loaded model; its tensors must not be used afterwards.</summary>
    public void Dispose()
    {
        _bytes?.Release();
        _bytes = null;
    }
}
