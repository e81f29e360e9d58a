// Writes a file through "<path>.tmp" and a rename, so readers never see a half-written file and a
// failure leaves neither the temporary nor a new target behind.
namespace Lors.Models.Formats;

public static class AtomicFile
{
    /// <summary>Tests wrap the output (e.g. a stream that fails like a full disk); flows with the calling test only.</summary>
    internal static readonly AsyncLocal<Func<Stream, Stream>?> WrapForTests = new();

    /// <summary>True for the error a full disk (or quota) gives: ENOSPC/EDQUOT on Unix, ERROR_DISK_FULL/HANDLE_DISK_FULL on Windows.</summary>
    public static bool IsDiskFull(IOException e) =>
        (e.HResult & 0xFFFF) is 28 or 122 or 0x70 or 0x27 || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("disk full", StringComparison.OrdinalIgnoreCase);

    public static void Write(string path, Action<Stream> write)
    {
        string tmp = path + ".tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                if (WrapForTests.Value is { } wrap) { using var w = wrap(fs); write(w); w.Flush(); }
                else write(fs);
                fs.Flush(flushToDisk: true);   // the rename must not become visible before the data is durable
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    public static void WriteText(string path, string text) =>
        Write(path, fs => fs.Write(new System.Text.UTF8Encoding(false).GetBytes(text)));
}
