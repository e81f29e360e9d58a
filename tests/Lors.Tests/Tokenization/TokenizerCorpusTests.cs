// Whole-corpus behaviour: agreement with HF's brown.valid token stream, round trips, streaming, and encode speed.
using System.Buffers.Binary;
using System.Text.Json;
using Lors.Models.Tokenization;

namespace Lors.Tests.Tokenization;

public sealed class TokenizerCorpusTests
{
    static readonly Lazy<string> Brown = new(() => System.IO.File.ReadAllText(TokPaths.BrownValid));

    /// <summary>input_ids of llama_ref_valid_2x128.safetensors: HF's first 256 tokens of the brown.valid stream.</summary>
    static int[] HfBrownPrefix()
    {
        byte[] bytes = System.IO.File.ReadAllBytes(TokPaths.File("tests", "fixtures", "llama_ref_valid_2x128.safetensors"));
        long headerLen = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        var entry = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLen)).RootElement.GetProperty("input_ids");
        Assert.Equal("I32", entry.GetProperty("dtype").GetString());
        int start = 8 + (int)headerLen + entry.GetProperty("data_offsets")[0].GetInt32();
        int end = 8 + (int)headerLen + entry.GetProperty("data_offsets")[1].GetInt32();
        var ids = new int[(end - start) / 4];
        for (int i = 0; i < ids.Length; i++) ids[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(start + 4 * i));
        return ids;
    }

    [Fact]
    public void BrownValidStreamStartsLikeHf()
    {
        int[] expected = HfBrownPrefix();
        int[] ids = TokenizerFixtureTests.ByteLevel.Encode(Brown.Value, addSpecialTokens: false);
        Assert.Equal(expected, ids[..expected.Length]);
    }

    [Theory]
    [InlineData("bytelevel")]
    [InlineData("llama2_style")]
    public void BrownChunkRoundTrips(string name)
    {
        var tok = TokenizerFixtureTests.ByName(name);
        string chunk = Brown.Value[..20_000];
        Assert.Equal(chunk, tok.Decode(tok.Encode(chunk)));
        // Line by line too, so leading spaces / empty pieces at segment starts are exercised.
        foreach (var line in chunk.Split('\n').Take(200))
            Assert.Equal(line, tok.Decode(tok.Encode(line)));
    }

    [Theory]
    [InlineData("bytelevel")]
    [InlineData("llama2_style")]
    public void StreamDecoderMatchesDecode(string name)
    {
        var tok = TokenizerFixtureTests.ByName(name);
        var texts = TokenizerFixtureTests.Probes.Append(Brown.Value[..3_000]).Append(" \u00e9\u00e8 \U0001F916\U0001F916 end");
        foreach (var text in texts)
        {
            int[] ids = tok.Encode(text);
            var stream = tok.CreateStreamDecoder();
            var sb = new System.Text.StringBuilder();
            foreach (int id in ids) sb.Append(stream.Push(id));
            sb.Append(stream.Flush());
            Assert.Equal(tok.Decode(ids), sb.ToString());
        }
    }

    [Fact]
    public void StreamDecoderHoldsBackPartialUtf8()
    {
        var tok = TokenizerFixtureTests.Llama2;
        var stream = tok.CreateStreamDecoder();
        // "▁" then the four byte tokens of U+1F916: nothing may be emitted until the last byte arrives.
        int[] ids = [tok.TokenToId("▁")!.Value, .. new[] { 0xF0, 0x9F, 0xA4, 0x96 }.Select(b => tok.TokenToId($"<0x{b:X2}>")!.Value)];
        var outputs = ids.Select(stream.Push).ToArray();
        Assert.All(outputs[..^1], o => Assert.DoesNotContain('\uFFFD', o));
        Assert.Equal("\U0001F916", string.Concat(outputs).TrimStart());
        Assert.Equal("", stream.Flush());
    }

    [Fact]
    public void StreamFlushEmitsTruncatedSequenceAsReplacement()
    {
        var tok = TokenizerFixtureTests.ByteLevel;
        int[] ids = tok.Encode("\U0001F916", addSpecialTokens: false);
        Assert.True(ids.Length > 1);
        var stream = tok.CreateStreamDecoder();
        string partial = string.Concat(ids[..^1].Select(stream.Push));
        Assert.Equal("", partial);
        Assert.Equal(tok.Decode(ids[..^1]), stream.Flush());
    }

    [Theory]
    [InlineData("bytelevel")]
    [InlineData("llama2_style")]
    public void EncodesWholeBrownValidAndRoundTrips(string name)
    {
        // Speed is measured by the tokenizer benchmark (bench/RESULTS.md), not here.
        var tok = TokenizerFixtureTests.ByName(name);
        var ids = tok.Encode(Brown.Value, addSpecialTokens: false);
        Assert.True(ids.Length > 50_000);
        Assert.Equal(Brown.Value, tok.Decode(ids));
    }
}
