using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using ModelBridge.Ir;
using ModelBridge.Onnx;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace ModelBridge.Verify;

/// <summary>
/// Runs a model in ONNX Runtime on the CPU: tensors in by name, tensors out by name.
/// </summary>
/// <remarks>
/// <para>
/// The session is created once, in the constructor, from the model serialised without its mapped
/// weights: every initializer that is still a view into the model file it was loaded from (large files
/// are memory-mapped) is handed to ORT as an external-data reference to that file, which ORT reads
/// itself, so the weights are never serialised into a buffer here nor parsed out of one by ORT. Computed
/// initializers are serialised inline; when those would exceed 1 GiB (weights read from external data,
/// say), the model goes to a temporary folder with its weights in a side file, deleted on
/// <see cref="Dispose"/>. The caller's <see cref="Model"/> is never changed, and extra outputs
/// (<see cref="OrtRunnerOptions.ExtraOutputs"/>) are appended while exporting it, without a clone.
/// </para>
/// <para>
/// Inputs are handed to ORT without copying (their payloads are pinned for the duration of the
/// call); outputs are copied out of ORT's buffers, and every native value is released before
/// <see cref="Run"/> returns. One runner may be used from one thread at a time.
/// </para>
/// </remarks>
public sealed partial class OrtRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string? _tempDirectory;
    private readonly HashSet<string> _requiredInputs;
    private readonly HashSet<string> _overridableInputs;
    private bool _disposed;

    /// <summary>Creates a session for <paramref name="model"/>, which is not changed.</summary>
    /// <exception cref="ArgumentException">An extra output names no value of the main graph.</exception>
    /// <exception cref="OnnxRuntimeException">ORT refused the model.</exception>
    public OrtRunner(Model model, OrtRunnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= OrtRunnerOptions.Default;
        using SessionOptions sessionOptions = CreateSessionOptions(options);
        (_session, _tempDirectory) = CreateSession(model, options, sessionOptions);
        _requiredInputs = [.. _session.InputNames];
        OverridableInputNames = [.. _session.OverridableInitializerMetadata.Keys];
        _overridableInputs = [.. OverridableInputNames];
        Options = options;
    }

    /// <summary>Creates a session for the model file at <paramref name="modelPath"/> (external data resolved beside it).</summary>
    /// <exception cref="ArgumentException">An extra output names no value of the main graph.</exception>
    /// <exception cref="OnnxRuntimeException">ORT refused the model.</exception>
    public OrtRunner(string modelPath, OrtRunnerOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        options ??= OrtRunnerOptions.Default;
        using SessionOptions sessionOptions = CreateSessionOptions(options);
        if (options.ExtraOutputs.Count == 0)
        {
            // ORT reads the file (and its external data) itself; nothing to rewrite.
            _session = new InferenceSession(Path.GetFullPath(modelPath), sessionOptions);
        }
        else
        {
            using Model model = Model.Load(modelPath);
            (_session, _tempDirectory) = CreateSession(model, options, sessionOptions);
        }
        _requiredInputs = [.. _session.InputNames];
        OverridableInputNames = [.. _session.OverridableInitializerMetadata.Keys];
        _overridableInputs = [.. OverridableInputNames];
        Options = options;
    }

    /// <summary>The options the session was created with.</summary>
    public OrtRunnerOptions Options { get; }

    /// <summary>Inputs <see cref="Run"/> requires, in the model's order (initializer-backed inputs excluded).</summary>
    public IReadOnlyList<string> InputNames => _session.InputNames;

    /// <summary>Inputs <see cref="Run"/> accepts in place of an initializer's value.</summary>
    public IReadOnlyList<string> OverridableInputNames { get; }

    /// <summary>Outputs <see cref="Run"/> returns: the model's own, then the extra ones.</summary>
    public IReadOnlyList<string> OutputNames => _session.OutputNames;

    /// <summary>Runs the model once.</summary>
    /// <param name="inputs">A tensor for every name in <see cref="InputNames"/>, optionally some of <see cref="OverridableInputNames"/>.</param>
    /// <param name="cancellationToken">Cancels the run (ORT stops at the next node boundary).</param>
    /// <returns>Every output in <see cref="OutputNames"/>, by name.</returns>
    /// <exception cref="ArgumentException">An input is missing or unknown.</exception>
    /// <exception cref="NotSupportedException">An output is not a plain tensor (sequence, map, optional, string) or has an element type ORT's .NET API cannot read.</exception>
    /// <exception cref="OnnxRuntimeException">ORT failed (wrong input type or shape, kernel error).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IReadOnlyDictionary<string, TensorData> Run(IReadOnlyDictionary<string, TensorData> inputs, CancellationToken cancellationToken = default)
    {
        using IDisposableReadOnlyCollection<OrtValue> results = RunRaw(inputs, _session.OutputNames, cancellationToken);
        return ReadOutputs(results, _session.OutputNames, copy: true).Tensors;
    }

    /// <summary>Runs once and returns ORT's own values of <paramref name="outputs"/> (the caller disposes them).</summary>
    private IDisposableReadOnlyCollection<OrtValue> RunRaw(IReadOnlyDictionary<string, TensorData> inputs, IReadOnlyCollection<string> outputs,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckInputNames(inputs);
        cancellationToken.ThrowIfCancellationRequested();

        var names = new List<string>(inputs.Count);
        var values = new List<OrtValue>(inputs.Count);
        var pins = new List<MemoryHandle>(inputs.Count);
        try
        {
            foreach (var (name, data) in inputs)
            {
                values.Add(CreateInput(data, pins));
                names.Add(name);
            }
            using var runOptions = new RunOptions();
            using CancellationTokenRegistration registration = cancellationToken.Register(() => runOptions.Terminate = true);
            try
            {
                return _session.Run(runOptions, names, values, outputs);
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The ORT run was cancelled.", cancellationToken);
            }
        }
        finally
        {
            foreach (OrtValue v in values)
            {
                v.Dispose();
            }
            foreach (MemoryHandle pin in pins)
            {
                pin.Dispose();
            }
        }
    }

    /// <summary>Releases the session and deletes the temporary copy of the model, if one was made.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _session.Dispose();
        if (_tempDirectory is not null)
        {
            try
            {
                Directory.Delete(_tempDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a leftover temp folder is harmless.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static SessionOptions CreateSessionOptions(OrtRunnerOptions options)
    {
        // The default session has only the CPU execution provider, which is what we want.
        var so = new SessionOptions
        {
            LogId = "ModelBridge.Verify",
            LogSeverityLevel = options.LogLevel switch
            {
                OrtLogLevel.Verbose => OrtLoggingLevel.ORT_LOGGING_LEVEL_VERBOSE,
                OrtLogLevel.Info => OrtLoggingLevel.ORT_LOGGING_LEVEL_INFO,
                OrtLogLevel.Warning => OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
                OrtLogLevel.Error => OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
                OrtLogLevel.Fatal => OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
                _ => throw new ArgumentOutOfRangeException(nameof(options), options.LogLevel, "Unknown log level."),
            },
            GraphOptimizationLevel = options.Optimization switch
            {
                GraphOptimization.Disabled => GraphOptimizationLevel.ORT_DISABLE_ALL,
                GraphOptimization.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                GraphOptimization.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                GraphOptimization.All => GraphOptimizationLevel.ORT_ENABLE_ALL,
                _ => throw new ArgumentOutOfRangeException(nameof(options), options.Optimization, "Unknown optimization level."),
            },
        };
        if (options.IntraOpThreads > 0)
        {
            so.IntraOpNumThreads = options.IntraOpThreads;
        }
        so.EnableCpuMemArena = options.CpuMemoryArena;
        return so;
    }

    private static (InferenceSession Session, string? TempDirectory) CreateSession(Model model, OrtRunnerOptions options, SessionOptions sessionOptions)
    {
        var extras = new List<Value>(options.ExtraOutputs.Count);
        foreach (string name in options.ExtraOutputs)
        {
            extras.Add(model.Graph.FindValue(name)
                ?? throw new ArgumentException($"Cannot expose '{name}': the main graph '{model.Graph.Name}' has no value of that name.", nameof(options)));
        }
        bool only = options.OnlyExtraOutputs && extras.Count > 0;
        // Weights that are views into a mapped model file stay there: the protobuf references the file's
        // ranges as external data and ORT reads them itself, so nothing here serialises or copies them.
        RuntimeModel.Result serialized = RuntimeModel.Serialize(model, extras, only, options.InlineLimit);
        if (serialized.Bytes is { } bytes)
        {
            if (serialized.ExternalFolder is { } folder)
            {
                sessionOptions.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", folder);
            }
            return (new InferenceSession(bytes, sessionOptions), null);
        }
        // Too large to hand over inline (weights read from external data, or computed, past the limit):
        // a temporary copy with its weights in a side file, deleted on Dispose.
        string temp = Directory.CreateTempSubdirectory("modelbridge-ort-").FullName;
        try
        {
            string path = Path.Combine(temp, "model.onnx");
            RuntimeModel.SaveWithExternalData(model, extras, only, path);
            return (new InferenceSession(path, sessionOptions), temp);
        }
        catch
        {
            Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    private void CheckInputNames(IReadOnlyDictionary<string, TensorData> inputs)
    {
        foreach (string name in inputs.Keys)
        {
            if (!_requiredInputs.Contains(name) && !_overridableInputs.Contains(name))
            {
                throw new ArgumentException($"The model has no input named '{name}'; it takes [{string.Join(", ", _session.InputNames)}].", nameof(inputs));
            }
        }
        foreach (string name in _session.InputNames)
        {
            if (!inputs.ContainsKey(name))
            {
                throw new ArgumentException($"Input '{name}' is missing; the model takes [{string.Join(", ", _session.InputNames)}].", nameof(inputs));
            }
        }
    }

    private static unsafe OrtValue CreateInput(TensorData data, List<MemoryHandle> pins)
    {
        long[] shape = [.. data.Dims];
        var type = (TensorElementType)(int)data.ElementType;
        if (data.Bytes.IsEmpty)
        {
            // An empty tensor has no buffer to pin; let ORT allocate its (zero-byte) storage.
            return OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, shape);
        }
        MemoryHandle pin = data.Bytes.Pin();
        pins.Add(pin);
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, (IntPtr)pin.Pointer, data.Bytes.Length);
    }

    private static (Dictionary<string, TensorData> Tensors, long Bytes) ReadOutputs(IReadOnlyList<OrtValue> results, IReadOnlyList<string> names, bool copy)
    {
        var outputs = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        long bytes = 0;
        int i = 0;
        foreach (OrtValue value in results)
        {
            string name = names[i++];
            if (outputs.ContainsKey(name))
            {
                continue; // ONNX allows listing an output twice.
            }
            TensorData t = ReadTensor(name, value, copy);
            outputs[name] = t;
            bytes += t.Bytes.Length;
        }
        return (outputs, bytes);
    }

    /// <summary>An output as a tensor: copied out of ORT's buffer, or a view of it (valid while the value lives).</summary>
    private static unsafe TensorData ReadTensor(string name, OrtValue value, bool copy)
    {
        if (value.OnnxType != OnnxValueType.ONNX_TYPE_TENSOR)
        {
            throw new NotSupportedException($"Output '{name}' is a {Describe(value.OnnxType)}; only tensors are supported.");
        }
        OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        if (info.IsString)
        {
            throw new NotSupportedException($"Output '{name}' is a string tensor; only fixed-size element types are supported.");
        }
        var type = (DataType)(int)info.ElementDataType;
        long[] shape = info.Shape;
        if (info.ElementCount == 0)
        {
            return TensorData.FromBytes(type, shape, ReadOnlyMemory<byte>.Empty);
        }
        if (!Enum.IsDefined(info.ElementDataType) || info.ElementDataType == TensorElementType.DataTypeMax)
        {
            throw new NotSupportedException($"Output '{name}' has element type {DataTypes.OnnxName(type)}, which ORT's .NET API cannot read.");
        }
        Span<byte> raw = value.GetTensorMutableRawData();
        if (copy)
        {
            return TensorData.FromBytes(type, shape, raw.ToArray());
        }
        var view = new NativeView((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(raw)), raw.Length);
        return TensorData.FromBytes(type, shape, view.Memory);
    }

    private static string Describe(OnnxValueType type) => type switch
    {
        OnnxValueType.ONNX_TYPE_SEQUENCE => "sequence",
        OnnxValueType.ONNX_TYPE_MAP => "map",
        OnnxValueType.ONNX_TYPE_OPTIONAL => "optional",
        OnnxValueType.ONNX_TYPE_SPARSETENSOR => "sparse tensor",
        OnnxValueType.ONNX_TYPE_OPAQUE => "opaque value",
        _ => "value of unknown kind",
    };
}
