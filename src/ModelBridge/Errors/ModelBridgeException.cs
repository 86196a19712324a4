namespace ModelBridge.Errors;

/// <summary>
/// Base class of every error that ModelBridge raises for a problem in a model (as opposed to
/// misuse of the API, which raises the usual BCL exceptions).
/// </summary>
/// <remarks>
/// Catch this type to handle "the model is bad" separately from programming errors. Subclasses
/// say what kind of problem it is; <see cref="NodeName"/> and <see cref="OpType"/> say where.
/// </remarks>
public abstract class ModelBridgeException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected ModelBridgeException(string message, string? nodeName = null, string? opType = null, Exception? inner = null)
        : base(message, inner)
    {
        NodeName = nodeName;
        OpType = opType;
    }

    /// <summary>Name of the node the problem is in, when it is in one.</summary>
    public string? NodeName { get; }

    /// <summary>Operator type of that node, when known.</summary>
    public string? OpType { get; }
}

/// <summary>The model is malformed: bad protobuf, inconsistent graph, bad tensor payload.</summary>
public sealed class InvalidModelException : ModelBridgeException
{
    /// <summary>Creates the exception.</summary>
    public InvalidModelException(string message, string? nodeName = null, string? opType = null, Exception? inner = null)
        : base(message, nodeName, opType, inner)
    {
    }
}

/// <summary>An external-data reference would read outside the model's folder or past a file's end.</summary>
public sealed class UnsafeExternalDataException : ModelBridgeException
{
    /// <summary>Creates the exception.</summary>
    public UnsafeExternalDataException(string message, string tensorName)
        : base(message)
    {
        TensorName = tensorName;
    }

    /// <summary>The initializer whose external data was refused.</summary>
    public string TensorName { get; }
}

/// <summary>A node uses an operator (or a form of one) that the requested operation cannot handle.</summary>
public sealed class UnsupportedOperatorException : ModelBridgeException
{
    /// <summary>Creates the exception.</summary>
    public UnsupportedOperatorException(string message, string? nodeName, string? opType, IReadOnlyList<string>? reasons = null)
        : base(message, nodeName, opType)
    {
        Reasons = reasons ?? [];
    }

    /// <summary>Why each candidate rewrite or check refused the node.</summary>
    public IReadOnlyList<string> Reasons { get; }
}

/// <summary>A target profile (JSON) is malformed: bad JSON, an unknown key, or a value of the wrong kind.</summary>
/// <remarks>
/// A profile is input data like a model, so it shares the <see cref="ModelBridgeException"/> base; the
/// message always names the file (or stream) and the JSON path of the offending key.
/// </remarks>
public sealed class InvalidProfileException : ModelBridgeException
{
    /// <summary>Creates the exception.</summary>
    public InvalidProfileException(string message, string source, string? key, Exception? inner = null)
        : base(message, null, null, inner)
    {
        ProfilePath = source;
        Key = key;
    }

    /// <summary>The file path (or stream name) of the profile.</summary>
    public string ProfilePath { get; }

    /// <summary>JSON path of the offending key, e.g. <c>ops.Conv.groupPolicy</c>, when the problem is in one.</summary>
    public string? Key { get; }
}
