using ModelBridge.Ir;

namespace ModelBridge.Profiles;

/// <summary>How a runtime hands the nodes of one model to its accelerator.</summary>
public enum PartitionKind
{
    /// <summary>
    /// Supported nodes are fused into subgraphs, each compiled and run by the accelerator as one call
    /// (ONNX Runtime's NNAPI and CoreML execution providers, through <c>CreateSupportedPartitions</c>).
    /// </summary>
    Subgraphs,

    /// <summary>
    /// Each supported node runs as its own accelerator kernel, with no compiled subgraph (ONNX Runtime's
    /// XNNPACK execution provider claims nodes one by one); partitions are then runs of such kernels.
    /// </summary>
    Nodes,
}

/// <summary>
/// Whether a target's runtime runs the nodes it cannot take on the CPU, and the rules by which it
/// partitions a graph between the accelerator and the CPU (profile key <c>fallback</c>).
/// </summary>
/// <remarks>
/// <para>With a CPU fallback (the ONNX Runtime execution providers), a model with unsupported nodes still
/// runs, split into partitions; ModelBridge reports them (<see cref="PartitionEstimate"/>). Without one
/// (TFLite builtins via onnx2tf, ncnn), an unsupported node means the model cannot be deployed, and
/// <c>convert</c> exits 3.</para>
/// <para>The partition rules mirror the execution provider's <c>GetCapability</c>: <see cref="StopOps"/>
/// (the op and everything downstream of it stays on the CPU), <see cref="RejectedSingleNodePartitions"/>
/// (a partition of one such node is not worth a delegate call), <see cref="RejectConstantOnlyPartitions"/>
/// and <see cref="BoundaryTypes"/> (element types a partition may take in or hand out).</para>
/// <para>A profile that does not declare <c>fallback</c> is treated as having none (<see cref="Undeclared"/>),
/// so a model is never reported deployable on a runtime that may not run it.</para>
/// </remarks>
public sealed record CpuFallback
{
    /// <summary>A profile without a <c>fallback</c> entry: no CPU fallback assumed.</summary>
    public static CpuFallback Undeclared { get; } = new();

    /// <summary>True when the runtime runs unsupported nodes on the CPU.</summary>
    public bool Enabled { get; init; }

    /// <summary>True when the profile declares its fallback (with <see cref="Sources"/>).</summary>
    public bool Declared { get; init; }

    /// <summary>How supported nodes are handed to the accelerator.</summary>
    public PartitionKind Partitioning { get; init; } = PartitionKind.Subgraphs;

    /// <summary>Operators at which the accelerator stops: they and every node downstream of them run on the CPU.</summary>
    public IReadOnlyList<string> StopOps { get; init; } = [];

    /// <summary>Operators whose single-node partition is discarded (left on the CPU).</summary>
    public IReadOnlyList<string> RejectedSingleNodePartitions { get; init; } = [];

    /// <summary>True when a partition whose inputs are all constant initializers is discarded.</summary>
    public bool RejectConstantOnlyPartitions { get; init; }

    /// <summary>
    /// Element types a partition may take in or hand out; a partition's edge node whose boundary tensor
    /// has another type is left on the CPU, repeatedly. Null: any type.
    /// </summary>
    public IReadOnlyList<DataType>? BoundaryTypes { get; init; }

    /// <summary>The public documents these facts come from.</summary>
    public IReadOnlyList<ProfileSource> Sources { get; init; } = [];
}
