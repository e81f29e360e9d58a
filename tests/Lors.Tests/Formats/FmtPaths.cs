// Test helpers for the Formats tests: the repository root (found from the test binaries), fixture paths
// and a self-deleting temporary folder.
namespace Lors.Tests.Formats;

internal static class FmtPaths
{
    public static string RepoRoot => Lors.Tests.RepoPaths.Root;
    public static string TinyModel => Path.Combine(RepoRoot, "models", "tiny-llama-brown");
    public static string Fixture(string name) => Path.Combine(RepoRoot, "tests", "fixtures", name);
}

internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("lors-fmt-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
