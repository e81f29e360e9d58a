// Writes that never leave a half-written file: write to a temporary name beside the target, then rename.
namespace Lors.Train;

public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));

    public static void Write(string path, Action<string> writeTemp)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            writeTemp(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
