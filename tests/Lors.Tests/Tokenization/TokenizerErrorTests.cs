// Failure modes: malformed or unsupported tokenizer.json files name the file and field; bad ids name id and vocab size.
using System.Text.Json.Nodes;
using Lors.Models.Tokenization;

namespace Lors.Tests.Tokenization;

public sealed class TokenizerErrorTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("lors-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string json)
    {
        string path = Path.Combine(_dir, $"tok-{Guid.NewGuid():N}.json");
        System.IO.File.WriteAllText(path, json);
        return path;
    }

    /// <summary>The llama2-style fixture with one edit applied.</summary>
    string WriteEdited(Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(System.IO.File.ReadAllText(TokPaths.Llama2StyleJson))!.AsObject();
        edit(root);
        return Write(root.ToJsonString());
    }

    static TokenizerFormatException Fails(string path, string field)
    {
        var e = Assert.Throws<TokenizerFormatException>(() => Tokenizer.Load(path));
        Assert.Contains(Path.GetFileName(path), e.Message);
        Assert.Contains(field, e.Message);
        return e;
    }

    [Fact]
    public void MalformedJson() => Fails(Write("{ \"model\": { \"type\": \"BPE\", "), "invalid JSON");

    [Fact]
    public void MissingModel() => Fails(Write("{ \"version\": \"1.0\" }"), "'model'");

    [Fact]
    public void UnsupportedModelType()
    {
        var e = Fails(WriteEdited(r => r["model"]!["type"] = "Unigram"), "'model.type'");
        Assert.Contains("Unigram", e.Message);
        Assert.Equal("model.type", e.Field);
    }

    [Fact]
    public void UnknownDecoderTypeIsNamedWithItsPath() =>
        Fails(WriteEdited(r => r["decoder"]!["decoders"]![1]!["type"] = "Mystery"), "'decoder.decoders[1].type'");

    [Fact]
    public void UnknownNormalizerType() =>
        Fails(WriteEdited(r => r["normalizer"] = new JsonObject { ["type"] = "Mystery" }), "'normalizer.type'");

    [Fact]
    public void UnknownPreTokenizerType() =>
        Fails(WriteEdited(r => r["pre_tokenizer"] = new JsonObject { ["type"] = "Mystery" }), "'pre_tokenizer.type'");

    [Fact]
    public void MergeWithUnknownToken() =>
        Fails(WriteEdited(r => r["model"]!["merges"]!.AsArray().Insert(0, new JsonArray("zzz-not-there", "a"))), "zzz-not-there");

    [Fact]
    public void MissingFile() =>
        Assert.Throws<FileNotFoundException>(() => Tokenizer.Load(Path.Combine(_dir, "absent.json")));

    [Theory]
    [InlineData(4096)]
    [InlineData(-1)]
    public void DecodeOfUnknownIdNamesIdAndVocabSize(int id)
    {
        var tok = TokenizerFixtureTests.ByteLevel;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([5, id]));
        Assert.Contains(id.ToString(), e.Message);
        Assert.Contains("4096", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.IdToToken(id));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.CreateStreamDecoder().Push(id));
    }
}
