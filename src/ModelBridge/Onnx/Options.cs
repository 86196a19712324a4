namespace ModelBridge.Onnx;

/// <summary>How a model is loaded.</summary>
public sealed record LoadOptions
{
    /// <summary>Folder that external-data locations are relative to; defaults to the model file's folder.</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>Files at least this large are memory-mapped instead of read into a managed array.</summary>
    public long MemoryMapThreshold { get; init; } = 32L << 20;

    /// <summary>The defaults.</summary>
    public static LoadOptions Default { get; } = new();
}

/// <summary>How a model is saved.</summary>
public sealed record SaveOptions
{
    /// <summary>Write the inferred type of every intermediate value into value_info.</summary>
    public bool WriteInferredShapes { get; init; }

    /// <summary>
    /// The shape facts <see cref="WriteInferredShapes"/> writes (e.g. inferred with pinned dims); inferred
    /// with default options when null.
    /// </summary>
    public Shapes.ShapeInferenceResult? Shapes { get; init; }

    /// <summary>Store large initializers in a side file (needed past protobuf's 2 GiB limit).</summary>
    public ExternalDataOptions? ExternalData { get; init; }

    /// <summary>The defaults: everything inline, value_info as loaded.</summary>
    public static SaveOptions Default { get; } = new();
}

/// <summary>Where and which initializers go to external data.</summary>
/// <param name="FileName">Side file name, relative to the model's folder (no directories).</param>
public sealed record ExternalDataOptions(string FileName)
{
    /// <summary>Initializers of at least this many bytes go to the side file.</summary>
    public long SizeThreshold { get; init; } = 1024;

    /// <summary>Offsets in the side file are multiples of this (page alignment allows memory-mapping).</summary>
    public int Alignment { get; init; } = 4096;
}
