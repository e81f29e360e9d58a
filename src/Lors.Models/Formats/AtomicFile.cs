// Writes a file through "<path>.tmp" and a rename, so readers never see a half-written file and a
// failure leaves neither the temporary nor a new target behind.
namespace Lors.Models.Formats;

public static class AtomicFile
{
    public static void Write(string path, Action<FileStream> write)
    {
        string tmp = path + ".tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(fs);
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
