using System.Runtime.InteropServices;

namespace ModelBridge.Onnx;

/// <summary>Tells a regular file from a FIFO, device node, socket or directory.</summary>
/// <remarks>
/// .NET's <see cref="FileAttributes"/> report FIFOs and device nodes on Unix as <c>Normal</c>, and
/// opening a FIFO for reading blocks until a writer appears, so the file type has to be read
/// before anything is opened. On Linux that is <c>statx(2)</c>, whose buffer layout is the same on
/// every architecture; on Windows the attributes do mark devices. Elsewhere the answer is "unknown",
/// and <see cref="ExternalDataReader"/> still never opens a file whose size cannot hold what it reads
/// (FIFOs and device nodes report size 0).
/// </remarks>
internal static unsafe partial class FileKind
{
    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1;
    private const int ModeOffset = 28;
    private const int TypeMask = 0xF000;
    private const int RegularFile = 0x8000;

    /// <summary>True for a regular file, false for anything else, null when this platform cannot tell.</summary>
    public static bool? IsRegularFile(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return (File.GetAttributes(path) & (FileAttributes.Device | FileAttributes.Directory)) == 0;
        }
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        try
        {
            byte* buffer = stackalloc byte[256];
            if (Statx(AtFdCwd, path, 0, StatxType, buffer) != 0)
            {
                return null;
            }
            ushort mode = *(ushort*)(buffer + ModeOffset);
            return (mode & TypeMask) == RegularFile;
        }
        catch (EntryPointNotFoundException)
        {
            return null; // A C library older than statx (glibc < 2.28).
        }
        catch (DllNotFoundException)
        {
            return null;
        }
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);
}
