// Checks both fixture tokenizers against the ids and decoded strings HF `tokenizers` produced (tokenizer_encodings.json).
using System.Text.Json;
using Lors.Models.Tokenization;

namespace Lors.Tests.Tokenization;

public sealed class TokenizerFixtureTests
{
    static readonly Lazy<Tokenizer> ByteLevelLazy = new(() => Tokenizer.Load(TokPaths.ByteLevelDir));
    static readonly Lazy<Tokenizer> Llama2Lazy = new(() => Tokenizer.Load(TokPaths.Llama2StyleJson));
    static readonly Lazy<JsonElement> Fixture = new(() => JsonDocument.Parse(System.IO.File.ReadAllText(TokPaths.EncodingsJson)).RootElement);

    internal static Tokenizer ByteLevel => ByteLevelLazy.Value;
    internal static Tokenizer Llama2 => Llama2Lazy.Value;
    internal static Tokenizer ByName(string name) => name == "bytelevel" ? ByteLevel : Llama2;

    internal static string[] Probes => Fixture.Value.GetProperty("probe").EnumerateArray().Select(e => e.GetString()!).ToArray();

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in new[] { "bytelevel", "llama2_style" })
            for (int i = 0; i < Probes.Length; i++) data.Add(name, i);
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void EncodeMatchesHf(string name, int probe)
    {
        int[] expected = Fixture.Value.GetProperty(name)[probe].EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(expected, ByName(name).Encode(Probes[probe]));
    }

    [Theory, MemberData(nameof(Cases))]
    public void DecodeMatchesHf(string name, int probe)
    {
        int[] ids = Fixture.Value.GetProperty(name)[probe].EnumerateArray().Select(e => e.GetInt32()).ToArray();
        string expected = Fixture.Value.GetProperty(name + "_decode")[probe].GetString()!;
        Assert.Equal(expected, ByName(name).Decode(ids));
    }

    [Theory, MemberData(nameof(Cases))]
    public void RoundTripsProbe(string name, int probe)
    {
        var tok = ByName(name);
        Assert.Equal(Probes[probe], tok.Decode(tok.Encode(Probes[probe])));
    }

    [Fact]
    public void SpecialTokenIdsFromConfigAndTemplate()
    {
        Assert.Equal(4096, ByteLevel.VocabSize);
        Assert.Equal(0, ByteLevel.BosTokenId);
        Assert.Equal(1, ByteLevel.EosTokenId);
        Assert.Equal(2, ByteLevel.PadTokenId);
        Assert.Null(ByteLevel.UnkTokenId);
        Assert.Equal(3000, Llama2.VocabSize);
        Assert.Equal(1, Llama2.BosTokenId);
        Assert.Equal(2, Llama2.EosTokenId);
        Assert.Equal(0, Llama2.UnkTokenId);
        Assert.True(ByteLevel.IsSpecial(0));
        Assert.False(ByteLevel.IsSpecial(3));
        Assert.Equal("<|end_of_text|>", ByteLevel.IdToToken(1));
        Assert.Equal(1, ByteLevel.TokenToId("<|end_of_text|>"));
        Assert.Equal(3, Llama2.TokenToId("<0x00>"));
        Assert.Null(Llama2.TokenToId("no-such-token"));
    }

    [Fact]
    public void AddSpecialTokensFalseOmitsBos()
    {
        Assert.Equal(ByteLevel.Encode("Hello world!")[1..], ByteLevel.Encode("Hello world!", addSpecialTokens: false));
        Assert.Equal(Llama2.Encode("Hello world!")[1..], Llama2.Encode("Hello world!", addSpecialTokens: false));
        Assert.Empty(ByteLevel.Encode("", addSpecialTokens: false));
    }

    [Fact]
    public void SpecialTokensInTextAreMatchedAndSkippableOnDecode()
    {
        int[] ids = ByteLevel.Encode("Hello<|end_of_text|> world", addSpecialTokens: false);
        Assert.Contains(1, ids);
        Assert.Equal("Hello world", ByteLevel.Decode(ids));
        Assert.Equal("Hello<|end_of_text|> world", ByteLevel.Decode(ids, skipSpecialTokens: false));
        int[] l2 = Llama2.Encode("Hi</s>", addSpecialTokens: false);
        Assert.Equal(2, l2[^1]);
    }
}
