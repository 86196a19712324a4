namespace ModelBridge.Onnx;

/// <summary>
/// Writes files so that a reader sees either the old file or the complete new one, never a
/// half-written one: data goes to a temporary file beside the target, is flushed to disk, and
/// is then renamed over the target. On any failure the temporary file is deleted and the
/// target is left as it was.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes one file atomically.</summary>
    public static void Write(string path, Action<Stream> write) => WriteAll([(path, write)]);

    /// <summary>Writes a UTF-8 text file atomically.</summary>
    public static void WriteText(string path, string text) =>
        Write(path, s =>
        {
            using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true);
            w.Write(text);
        });

    /// <summary>
    /// Writes several files: every file is completed in a temporary first, then all are renamed
    /// into place (in order). Nothing is renamed unless every write succeeded, and if a rename
    /// fails, the targets already replaced are restored, so the set stays consistent (a model and
    /// its external-data file, a model and its tensor map).
    /// </summary>
    public static void WriteAll(IReadOnlyList<(string Path, Action<Stream> Write)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var temps = new List<(string Temp, string Target)>(files.Count);
        // Targets already renamed into place, with the backup of what they replaced (null: there was nothing).
        var placed = new List<(string Target, string? Backup)>(files.Count);
        try
        {
            foreach (var (path, write) in files)
            {
                string target = Path.GetFullPath(path);
                string dir = Path.GetDirectoryName(target) ?? ".";
                Directory.CreateDirectory(dir);
                string temp = TempName(target, "tmp");
                temps.Add((temp, target));
                using var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            foreach (var (temp, target) in temps)
            {
                if (File.Exists(target))
                {
                    // Replace keeps the old file as a backup (a hard link on Unix) while the rename stays atomic.
                    string backup = TempName(target, "bak");
                    File.Replace(temp, target, backup, ignoreMetadataErrors: true);
                    placed.Add((target, backup));
                }
                else
                {
                    File.Move(temp, target, overwrite: true);
                    placed.Add((target, null));
                }
            }
        }
        catch
        {
            foreach (var (temp, _) in temps)
            {
                TryDelete(temp);
            }
            for (int i = placed.Count - 1; i >= 0; i--)
            {
                Restore(placed[i].Target, placed[i].Backup);
            }
            throw;
        }
        foreach (var (_, backup) in placed)
        {
            if (backup is not null)
            {
                TryDelete(backup);
            }
        }
    }

    private static string TempName(string target, string suffix) =>
        Path.Combine(Path.GetDirectoryName(target) ?? ".", $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.{suffix}");

    /// <summary>Puts back what a failed set of renames replaced (best effort: the original exception is what the caller sees).</summary>
    private static void Restore(string target, string? backup)
    {
        try
        {
            if (backup is null)
            {
                File.Delete(target);
            }
            else
            {
                File.Move(backup, target, overwrite: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original exception is what the caller needs to see.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
