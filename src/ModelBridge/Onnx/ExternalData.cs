using System.Globalization;
using ModelBridge.Errors;
using OnnxTensor = ModelBridge.OnnxProto.TensorProto;

namespace ModelBridge.Onnx;

/// <summary>Where an initializer's payload is stored outside the model file (TensorProto data_location = EXTERNAL).</summary>
/// <param name="Location">Path relative to the model's folder.</param>
/// <param name="Offset">Byte offset in that file.</param>
/// <param name="Length">Byte length, or null to read to the end of the file.</param>
public sealed record ExternalDataInfo(string Location, long Offset, long? Length)
{
    internal static ExternalDataInfo FromProto(OnnxTensor t)
    {
        string? location = null;
        long offset = 0;
        long? length = null;
        foreach (var kv in t.ExternalData)
        {
            switch (kv.Key)
            {
                case "location":
                    location = kv.Value;
                    break;
                case "offset":
                    offset = ParseNonNegative(kv.Value, t.Name, "offset");
                    break;
                case "length":
                    length = ParseNonNegative(kv.Value, t.Name, "length");
                    break;
                default:
                    break; // "checksum" and future keys are carried, not interpreted.
            }
        }
        if (string.IsNullOrEmpty(location))
        {
            ThrowHelper.InvalidModel($"Initializer '{t.Name}' is marked EXTERNAL but has no 'location' entry.");
        }
        return new ExternalDataInfo(location, offset, length);
    }

    private static long ParseNonNegative(string text, string tensor, string key)
    {
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
        {
            ThrowHelper.InvalidModel($"Initializer '{tensor}' has external-data {key} '{text}', which is not a non-negative integer.");
        }
        return v;
    }
}

/// <summary>
/// Reads external tensor data for one model folder, refusing any location that would leave it.
/// </summary>
/// <remarks>
/// A location must be relative, must not contain <c>..</c> segments, and must resolve (after
/// following symbolic links at every step) to a regular file inside the model's folder. The
/// offset and length are checked against the file's size before anything is read.
/// </remarks>
internal sealed class ExternalDataReader
{
    private readonly string _baseDirectory;
    private readonly string _realBase;

    public ExternalDataReader(string baseDirectory)
    {
        _baseDirectory = Path.GetFullPath(baseDirectory);
        _realBase = ResolveReal(_baseDirectory);
    }

    /// <summary>Validates the location of <paramref name="info"/> without reading it.</summary>
    public string Resolve(ExternalDataInfo info, string tensorName)
    {
        string loc = info.Location;
        if (loc.Contains('\0', StringComparison.Ordinal))
        {
            ThrowHelper.UnsafeExternalData($"Initializer '{tensorName}': external-data location contains a NUL character.", tensorName);
        }
        if (Path.IsPathRooted(loc) || loc.StartsWith('/') || loc.StartsWith('\\') || (loc.Length >= 2 && loc[1] == ':'))
        {
            ThrowHelper.UnsafeExternalData($"Initializer '{tensorName}': external-data location '{loc}' is absolute; it must be relative to the model's folder.", tensorName);
        }
        string[] parts = loc.Split('/', '\\');
        if (parts.Any(p => p == ".."))
        {
            ThrowHelper.UnsafeExternalData($"Initializer '{tensorName}': external-data location '{loc}' contains '..'; it must stay inside the model's folder.", tensorName);
        }
        string full = Path.GetFullPath(Path.Combine(_baseDirectory, loc.Replace('\\', '/')));
        string real = ResolveReal(full);
        string prefix = _realBase.EndsWith(Path.DirectorySeparatorChar) ? _realBase : _realBase + Path.DirectorySeparatorChar;
        if (!real.StartsWith(prefix, StringComparison.Ordinal))
        {
            ThrowHelper.UnsafeExternalData($"Initializer '{tensorName}': external-data location '{loc}' resolves to '{real}', outside the model's folder '{_realBase}' (symbolic link escape).", tensorName);
        }
        if (!File.Exists(real))
        {
            ThrowHelper.InvalidModel($"Initializer '{tensorName}': external-data file '{loc}' does not exist in '{_baseDirectory}'.");
        }
        if (FileKind.IsRegularFile(real) == false)
        {
            // A FIFO would block the reader forever; a device node reads endless or live data.
            ThrowHelper.UnsafeExternalData($"Initializer '{tensorName}': external-data location '{loc}' is not a regular file (a FIFO, device node or socket).", tensorName);
        }
        return real;
    }

    public ReadOnlyMemory<byte> Read(ExternalDataInfo info, long expectedBytes, string tensorName)
    {
        string path = Resolve(info, tensorName);
        // Sized and checked before opening: where the file type is unknown, a FIFO or device node
        // (size 0) is never opened, and nothing is allocated beyond what the file holds.
        long length = CheckLength(info, new FileInfo(path).Length, expectedBytes, tensorName);
        if (length == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        length = CheckLength(info, RandomAccess.GetLength(handle), expectedBytes, tensorName);
        byte[] buffer = GC.AllocateUninitializedArray<byte>((int)length);
        int read = 0;
        while (read < buffer.Length)
        {
            int n = RandomAccess.Read(handle, buffer.AsSpan(read), info.Offset + read);
            if (n == 0)
            {
                ThrowHelper.InvalidModel($"External data '{info.Location}' ended early at byte {info.Offset + read}.");
            }
            read += n;
        }
        return buffer;
    }

    /// <summary>The byte count to read; throws when offset and length do not fit in <paramref name="size"/> or disagree with the tensor.</summary>
    private static long CheckLength(ExternalDataInfo info, long size, long expectedBytes, string tensorName)
    {
        long length = info.Length ?? (size - info.Offset);
        if (info.Offset > size || length < 0 || length > size - info.Offset)
        {
            ThrowHelper.InvalidModel($"Initializer '{tensorName}': external data '{info.Location}': offset {info.Offset} + length {length} is past the end of the file ({size} bytes).");
        }
        if (expectedBytes >= 0 && length != expectedBytes)
        {
            ThrowHelper.InvalidModel($"Initializer '{tensorName}': external data '{info.Location}' at offset {info.Offset}: {length} bytes stored, but the tensor's type and dims need {expectedBytes}.");
        }
        if (length > Array.MaxLength)
        {
            ThrowHelper.InvalidModel($"Initializer '{tensorName}': external data '{info.Location}': {length} bytes is more than one buffer can hold.");
        }
        return length;
    }

    /// <summary>Follows symbolic links component by component, like realpath(3).</summary>
    private static string ResolveReal(string fullPath)
    {
        string root = Path.GetPathRoot(fullPath) ?? "/";
        string current = root;
        string rest = fullPath[root.Length..];
        var pending = new Queue<string>(rest.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries));
        int hops = 0;
        while (pending.Count > 0)
        {
            string part = pending.Dequeue();
            if (part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? root;
                continue;
            }
            string next = Path.Combine(current, part);
            var info = new FileInfo(next);
            if (info.Exists || Directory.Exists(next))
            {
                FileSystemInfo fsi = Directory.Exists(next) ? new DirectoryInfo(next) : info;
                if (fsi.LinkTarget is { } target)
                {
                    if (++hops > 40)
                    {
                        throw new IOException($"Too many levels of symbolic links at '{next}'.");
                    }
                    string targetFull = Path.IsPathRooted(target) ? target : Path.Combine(current, target);
                    targetFull = Path.GetFullPath(targetFull);
                    string tRoot = Path.GetPathRoot(targetFull) ?? "/";
                    var remaining = pending.ToArray();
                    pending.Clear();
                    foreach (string s in targetFull[tRoot.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
                    {
                        pending.Enqueue(s);
                    }
                    foreach (string s in remaining)
                    {
                        pending.Enqueue(s);
                    }
                    current = tRoot;
                    continue;
                }
            }
            current = next;
        }
        return current;
    }
}
