// Locates repository files for the tokenizer tests by walking up to the directory holding LoRS.sln.
namespace Lors.Tests.Tokenization;

internal static class TokPaths
{
    static readonly Lazy<string> RootLazy = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "LoRS.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"LoRS.sln not found above {AppContext.BaseDirectory}");
    });

    public static string Root => RootLazy.Value;
    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string ByteLevelDir => File("models", "tiny-llama-brown");
    public static string Llama2StyleJson => File("tests", "fixtures", "tok-llama2-style", "tokenizer.json");
    public static string EncodingsJson => File("tests", "fixtures", "tokenizer_encodings.json");
    public static string BrownValid => File("data", "brown", "brown.valid.txt");
}
