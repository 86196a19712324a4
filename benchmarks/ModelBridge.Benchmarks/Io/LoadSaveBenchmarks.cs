using BenchmarkDotNet.Attributes;
using ModelBridge.Ir;
using ModelBridge.OnnxProto;

namespace ModelBridge.Benchmarks.Io;

/// <summary>
/// Load + save of an unedited 150 MB model: ModelBridge against plain Google.Protobuf
/// (<c>ModelProto.Parser.ParseFrom</c> + <c>WriteTo</c>), the floor in .NET, and OnnxSharp.
/// </summary>
[MemoryDiagnoser]
public class LoadSaveBenchmarks
{
    private string _path = string.Empty;

    /// <summary>Size of the generated model in MB.</summary>
    [Params(150)]
    public int Megabytes { get; set; }

    /// <summary>Builds (or reuses) the model file.</summary>
    [GlobalSetup]
    public void Setup() => _path = LargeModel.Path(Megabytes);

    /// <summary>Plain protobuf: read the file, parse, serialise to a null stream.</summary>
    [Benchmark(Baseline = true)]
    public long PlainProtobuf()
    {
        byte[] bytes = File.ReadAllBytes(_path);
        ModelProto proto = LargeModel.ParsePlain(bytes);
        var sink = new CountingStream();
        LargeModel.WritePlain(proto, sink);
        return sink.Length;
    }

    /// <summary>ModelBridge: load (memory-mapped, initializers as views), serialise to a null stream.</summary>
    [Benchmark]
    public long ModelBridgeLoadSave()
    {
        using Model m = Model.Load(_path);
        var sink = new CountingStream();
        m.Save(sink);
        return sink.Length;
    }

    /// <summary>OnnxSharp 0.3.2 (the existing .NET ONNX library): parse the file, serialise to a null stream.</summary>
    [Benchmark]
    public long OnnxSharp()
    {
        global::Onnx.ModelProto proto = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(_path));
        var sink = new CountingStream();
        Google.Protobuf.MessageExtensions.WriteTo(proto, sink);
        return sink.Length;
    }

    /// <summary>ModelBridge load only (graph walk included).</summary>
    [Benchmark]
    public int ModelBridgeLoad()
    {
        using Model m = Model.Load(_path);
        return m.Graph.NodeCount;
    }
}

/// <summary>A write-only stream that counts bytes (so that disk speed does not enter the figures).</summary>
public sealed class CountingStream : Stream
{
    private long _length;

    /// <inheritdoc/>
    public override bool CanRead => false;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanWrite => true;

    /// <inheritdoc/>
    public override long Length => _length;

    /// <inheritdoc/>
    public override long Position { get => _length; set => throw new NotSupportedException(); }

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => _length += count;

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;
}
