using System.Buffers;
using Microsoft.ML.OnnxRuntime;

namespace ModelBridge.Verify;

public sealed partial class OrtRunner
{
    /// <summary>
    /// Runs the model once and lends the outputs named <paramref name="outputs"/> (only those are
    /// fetched): each tensor views ORT's own output buffer (no copy) and is valid only until the
    /// returned set is disposed.
    /// </summary>
    /// <remarks>
    /// For callers that reduce the outputs to metrics right away (parity checks): it saves copying
    /// every exposed tensor into managed memory, which would double what a chunk holds.
    /// </remarks>
    internal LentOutputs RunLent(IReadOnlyDictionary<string, TensorData> inputs, IReadOnlyList<string> outputs, CancellationToken cancellationToken = default)
    {
        IDisposableReadOnlyCollection<OrtValue> results = RunRaw(inputs, outputs, cancellationToken);
        try
        {
            (Dictionary<string, TensorData> tensors, long bytes) = ReadOutputs(results, outputs, copy: false);
            return new LentOutputs(results, tensors, bytes);
        }
        catch
        {
            results.Dispose();
            throw;
        }
    }

    /// <summary>Outputs viewing ORT's buffers, released together on <see cref="Dispose"/>.</summary>
    internal sealed class LentOutputs : IDisposable
    {
        private readonly IDisposableReadOnlyCollection<OrtValue> _values;

        public LentOutputs(IDisposableReadOnlyCollection<OrtValue> values, IReadOnlyDictionary<string, TensorData> tensors, long bytes)
        {
            _values = values;
            Tensors = tensors;
            Bytes = bytes;
        }

        /// <summary>The outputs by name; do not use them after <see cref="Dispose"/>.</summary>
        public IReadOnlyDictionary<string, TensorData> Tensors { get; }

        /// <summary>Payload bytes of all outputs together.</summary>
        public long Bytes { get; }

        public void Dispose() => _values.Dispose();
    }

    /// <summary>A read-only view of native memory owned by an ORT value.</summary>
    private sealed unsafe class NativeView(byte* pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(pointer, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
