// Unit checks of pipeline pieces the fixtures do not reach: Split behaviours, the Llama-3 split regex, byte fallback.
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Lors.Models.Tokenization;

namespace Lors.Tests.Tokenization;

public sealed class TokenizerComponentTests
{
    const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    static List<string> Split(string text, string pattern, SplitBehavior behavior, bool invert = false) =>
        new SplitPreTokenizer(new Regex(pattern), behavior, invert).PreTokenize([text], true);

    [Theory]
    [InlineData("Removed", new[] { "the", "final", "countdown" })]
    [InlineData("Isolated", new[] { "the", "-", "final", "-", "-", "countdown" })]
    [InlineData("MergedWithPrevious", new[] { "the-", "final-", "-", "countdown" })]
    [InlineData("MergedWithNext", new[] { "the", "-final", "-", "-countdown" })]
    [InlineData("Contiguous", new[] { "the", "-", "final", "--", "countdown" })]
    public void SplitBehavioursFollowHf(string behavior, string[] expected) =>
        Assert.Equal(expected, Split("the-final--countdown", "-", Enum.Parse<SplitBehavior>(behavior)));

    [Fact]
    public void Llama3RegexSplitsDigitsInThreesAndContractionsCaseInsensitively() =>
        Assert.Equal(["Hello", " world", " ", "123", "45", " it", "'s", " I", "'LL", "\n\n", " ", " x"],
            Split("Hello world 12345 it's I'LL\n\n  x", Llama3Pattern, SplitBehavior.Isolated));

    [Fact]
    public void Gpt2RegexContractionsAreCaseSensitive() =>
        Assert.Equal(["I", "'", "LL", " it", "'s"],
            Split("I'LL it's", ByteLevelPreTokenizer.Gpt2Pattern, SplitBehavior.Isolated));

    [Fact]
    public void Llama3StyleJsonLoadsAndRoundTrips()
    {
        // The tiny model's tokenizer with a Llama-3 pre-tokenizer: Split(regex, Isolated) then ByteLevel without regex.
        var root = JsonNode.Parse(System.IO.File.ReadAllText(Path.Combine(TokPaths.ByteLevelDir, "tokenizer.json")))!.AsObject();
        root["pre_tokenizer"] = JsonNode.Parse($$"""
            {"type":"Sequence","pretokenizers":[
              {"type":"Split","pattern":{"Regex":{{System.Text.Json.JsonSerializer.Serialize(Llama3Pattern)}}},"behavior":"Isolated","invert":false},
              {"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]}
            """);
        string dir = Directory.CreateTempSubdirectory("lors-tok-").FullName;
        try
        {
            System.IO.File.WriteAllText(Path.Combine(dir, "tokenizer.json"), root.ToJsonString());
            var tok = Tokenizer.Load(dir);
            Assert.Equal(1, tok.EosTokenId); // no tokenizer_config.json here: found by name
            string text = System.IO.File.ReadAllText(TokPaths.BrownValid)[..5_000] + " 1234567 I'LL 🤖";
            int[] ids = tok.Encode(text);
            Assert.Equal(0, ids[0]);
            Assert.Equal(text, tok.Decode(ids));
            // Digits never merge past three under this pattern.
            Assert.Equal(tok.Encode("123", false).Concat(tok.Encode("456", false)).Concat(tok.Encode("7", false)), tok.Encode("1234567", false));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ByteFallbackDecoderReplacesEachByteOfAnInvalidRun()
    {
        var d = new ByteFallbackDecoder();
        Assert.Equal(["\uFFFD", "\uFFFD", "a", "é"], d.DecodeChain(["<0xE2>", "<0x82>", "a", "<0xC3>", "<0xA9>"]));
    }

    [Fact]
    public void UnknownCharWithoutByteTokenBecomesUnk()
    {
        // The llama2-style vocab has all 256 byte tokens, so an unseen char falls back to bytes, never to <unk>.
        var tok = TokenizerFixtureTests.Llama2;
        int[] ids = tok.Encode("\u4E00", addSpecialTokens: false);
        Assert.DoesNotContain(0, ids);
        Assert.Equal("\u4E00", tok.Decode(ids));
    }

    [Fact]
    public void DecodeKeepsSpecialsWhenAsked()
    {
        var tok = TokenizerFixtureTests.Llama2;
        Assert.Equal("<s>Hello", tok.Decode(tok.Encode("Hello"), skipSpecialTokens: false).Replace(" ", ""));
    }
}

public sealed class Gpt2SplitterTests
{
    static List<string> ByScanner(string text)
    {
        var spans = new List<(int Start, int Length)>();
        Gpt2Splitter.Split(text, spans);
        return spans.Select(s => text.Substring(s.Start, s.Length)).ToList();
    }

    static List<string> ByRegex(string text) =>
        Regex.Matches(text, ByteLevelPreTokenizer.Gpt2Pattern).Select(m => m.Value).ToList();

    [Fact]
    public void AgreesWithRegexOnBrown()
    {
        string text = System.IO.File.ReadAllText(TokPaths.BrownValid)[..50_000];
        Assert.Equal(ByRegex(text), ByScanner(text));
    }

    [Fact]
    public void AgreesWithRegexOnRandomBmpText()
    {
        // Alphabet chosen to hit every branch: contractions, optional space, whitespace runs, NBSP, digits, CJK.
        string alphabet = "ab Z'  \t\n\r\u00a0\u2028\u3000stvmlred019\u0663\u00bd!?.-\"'数é_";
        var rng = new Random(1234);
        for (int n = 0; n < 3_000; n++)
        {
            var chars = new char[rng.Next(0, 24)];
            for (int k = 0; k < chars.Length; k++) chars[k] = alphabet[rng.Next(alphabet.Length)];
            string s = new(chars);
            Assert.Equal(ByRegex(s), ByScanner(s));
        }
    }

    [Fact]
    public void SupplementaryLettersStayInTheirWord() =>
        Assert.Equal(["a\U0001D400b", " \U0001D7CE\U0001D7CF", " \U0001F916!"], ByScanner("a\U0001D400b \U0001D7CE\U0001D7CF \U0001F916!"));
}
