using System.Buffers;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace ModelBridge.Onnx;

/// <summary>
/// The bytes of a loaded model file: a managed array, or a read-only memory map for large files.
/// Initializer payloads are views into these bytes, so they live as long as the model does.
/// </summary>
internal abstract class ModelBytes
{
    private int _references = 1;

    public abstract ReadOnlyMemory<byte> Memory { get; }

    /// <summary>Another model (a clone) shares these bytes.</summary>
    public void AddRef() => Interlocked.Increment(ref _references);

    /// <summary>Drops one reference; the last one frees the buffer or unmaps the file.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Dispose();
        }
    }

    protected abstract void Dispose();

    public static ModelBytes FromArray(ReadOnlyMemory<byte> bytes) => new ArrayBytes(bytes);

    /// <summary>
    /// Where <paramref name="data"/> lies in a file: true when it is a view into a memory-mapped model
    /// file (a loaded initializer's payload) and the file at that path is still the one mapped (same
    /// length and modification time), with the file's full path and the view's byte offset.
    /// </summary>
    public static bool TryGetFileRange(ReadOnlyMemory<byte> data, out string path, out long offset)
    {
        if (MemoryMarshal.TryGetMemoryManager(data, out MappedMemoryManager? manager, out int start, out _)
            && !manager.IsDisposed && manager.IsUnchangedOnDisk())
        {
            path = manager.Path;
            offset = start;
            return true;
        }
        path = string.Empty;
        offset = 0;
        return false;
    }

    /// <summary>Maps files of at least <paramref name="mapThreshold"/> bytes, reads smaller ones.</summary>
    public static ModelBytes FromFile(string path, long mapThreshold)
    {
        // The length of the file itself: FileInfo of a symbolic link reports the link's own size.
        var info = new FileInfo(path);
        long length = (info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info).Length;
        if (length >= mapThreshold && length > 0)
        {
            return new MappedBytes(path, length);
        }
        return new ArrayBytes(File.ReadAllBytes(path));
    }

    private sealed class ArrayBytes(ReadOnlyMemory<byte> bytes) : ModelBytes
    {
        public override ReadOnlyMemory<byte> Memory { get; } = bytes;

        protected override void Dispose()
        {
        }
    }

    private sealed class MappedBytes : ModelBytes
    {
        private readonly MappedMemoryManager _manager;

        public MappedBytes(string path, long length)
        {
            if (length > int.MaxValue)
            {
                throw new IOException($"'{path}' is {length} bytes; a single ONNX protobuf cannot exceed 2 GiB (use external data).");
            }
            _manager = new MappedMemoryManager(path, (int)length);
        }

        public override ReadOnlyMemory<byte> Memory => _manager.Memory;

        protected override void Dispose() => ((IDisposable)_manager).Dispose();
    }

    private sealed unsafe class MappedMemoryManager : MemoryManager<byte>
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private readonly int _length;
        private readonly DateTime _writeTime;
        private byte* _pointer;

        public MappedMemoryManager(string path, int length)
        {
            // The file itself, not a symbolic link to it: what a runtime is pointed at, and whose
            // replacement IsUnchangedOnDisk must notice.
            Path = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
            _length = length;
            _writeTime = File.GetLastWriteTimeUtc(Path);
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
            _file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            _pointer = p + _view.PointerOffset;
        }

        /// <summary>Full path of the mapped file.</summary>
        public string Path { get; }

        public bool IsDisposed => _pointer == null;

        /// <summary>The path still names a file of the mapped length and modification time (not replaced since).</summary>
        public bool IsUnchangedOnDisk()
        {
            var info = new FileInfo(Path);
            return info.Exists && info.Length == _length && info.LastWriteTimeUtc == _writeTime;
        }

        public override Span<byte> GetSpan() => _pointer == null ? throw new ObjectDisposedException(nameof(ModelBytes)) : new Span<byte>(_pointer, _length);

        public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
            if (_pointer == null)
            {
                return;
            }
            _pointer = null;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }
}
