// Repository files the tokenizer tests read (the root comes from RepoPaths).
namespace Lors.Tests.Tokenization;

internal static class TokPaths
{
    public static string Root => Lors.Tests.RepoPaths.Root;
    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string ByteLevelDir => File("models", "tiny-llama-brown");
    public static string Llama2StyleJson => File("tests", "fixtures", "tok-llama2-style", "tokenizer.json");
    public static string EncodingsJson => File("tests", "fixtures", "tokenizer_encodings.json");
    public static string BrownValid => File("data", "brown", "brown.valid.txt");
}
