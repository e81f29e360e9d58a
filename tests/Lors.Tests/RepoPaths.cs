// Locates the repository root (the folder holding LoRS.sln) and the files tests read from it.
namespace Lors.Tests;

internal static class RepoPaths
{
    public static string Root { get; } = Find();

    public static string TinyModel => Path.Combine(Root, "models", "tiny-llama-brown");
    public static string Fixtures => Path.Combine(Root, "tests", "fixtures");
    public static string Brown(string split) => Path.Combine(Root, "data", "brown", $"brown.{split}.txt");

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LoRS.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("could not find LoRS.sln above " + AppContext.BaseDirectory);
    }
}
