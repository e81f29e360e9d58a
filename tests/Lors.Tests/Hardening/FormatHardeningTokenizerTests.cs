// Malformed tokenizer.json and tokenizer_config.json: values of the wrong JSON type anywhere the loader reads,
// out-of-range ids, unsupported components, and special tokens the vocabulary lacks. Each is refused with a
// TokenizerFormatException naming the file and the field.
using System.Text.Json.Nodes;
using Lors.Models.Tokenization;

namespace Lors.Tests.Hardening;

[Collection("FormatHardening")]
public sealed class FormatHardeningTokenizerTests(HardeningScratch scratch) : IClassFixture<HardeningScratch>
{
    /// <summary>(JSON path to set, new value as JSON, text the message must hold besides the file).</summary>
    public static TheoryData<string, string, string> TokenizerEdits() => new()
    {
        { "model.merges[0]", "[1, 2]", "model.merges[0]" },
        { "model.merges[0]", "5", "model.merges[0]" },
        { "model.merges[0]", "[\"a\"]", "model.merges[0]" },
        { "model.merges[0]", "\"a b c\"", "model.merges[0]" },
        { "model.merges[0]", "[\"zzqq\", \"t\"]", "merge 0" },
        { "model.merges", "\"x\"", "model.merges" },
        { "model.merges", "{}", "model.merges" },
        { "post_processor.single[0].SpecialToken.id", "5", "post_processor.single[0].SpecialToken.id" },
        { "post_processor.single[0].SpecialToken.id", "\"<nope>\"", "post_processor.single[0].SpecialToken.id" },
        { "post_processor.single[0].SpecialToken", "\"x\"", "post_processor.single[0].SpecialToken" },
        { "post_processor.single[0]", "7", "post_processor.single[0]" },
        { "post_processor.single", "{}", "post_processor.single" },
        { "post_processor.special_tokens.<|begin_of_text|>.ids[0]", "\"0\"", "ids[0]" },
        { "post_processor.special_tokens.<|begin_of_text|>.ids", "5", "ids" },
        { "post_processor.special_tokens.<|begin_of_text|>", "[]", "special_tokens" },
        { "post_processor.special_tokens", "[]", "special_tokens" },
        { "post_processor.type", "\"Foo\"", "post_processor.type" },
        { "post_processor.type", "5", "post_processor.type" },
        { "post_processor", "\"TemplateProcessing\"", "post_processor" },
        { "added_tokens[0].id", "\"0\"", "added_tokens[0].id" },
        { "added_tokens[0].id", "-1", "added_tokens[0].id" },
        { "added_tokens[0].id", "1.5", "added_tokens[0].id" },
        { "added_tokens[0].id", "2147483647", "added_tokens[0].id" },
        { "added_tokens[0].id", "null", "added_tokens[0].id" },
        { "added_tokens[0].content", "5", "added_tokens[0].content" },
        { "added_tokens[0].special", "\"yes\"", "added_tokens[0].special" },
        { "added_tokens[0].normalized", "1", "added_tokens[0].normalized" },
        { "added_tokens[0]", "\"<|begin_of_text|>\"", "added_tokens[0]" },
        { "added_tokens", "{}", "added_tokens" },
        { "model", "[]", "model" },
        { "model.type", "\"WordPiece\"", "model.type" },
        { "model.type", "5", "model.type" },
        { "model.vocab", "[]", "model.vocab" },
        { "model.vocab.the", "\"x\"", "model.vocab" },
        { "model.vocab.the", "-1", "model.vocab" },
        { "model.vocab.the", "2147483647", "model.vocab" },
        { "model.vocab.the", "1.5", "model.vocab" },
        { "model.unk_token", "5", "model.unk_token" },
        { "model.unk_token", "\"<nope>\"", "unk_token" },
        { "model.byte_fallback", "\"yes\"", "model.byte_fallback" },
        { "model.dropout", "0.1", "model.dropout" },
        { "model.dropout", "\"x\"", "model.dropout" },
        { "pre_tokenizer", "\"ByteLevel\"", "pre_tokenizer" },
        { "pre_tokenizer.type", "\"Bert\"", "pre_tokenizer.type" },
        { "pre_tokenizer.type", "5", "pre_tokenizer.type" },
        { "pre_tokenizer.add_prefix_space", "\"no\"", "pre_tokenizer.add_prefix_space" },
        { "decoder", "5", "decoder" },
        { "decoder.type", "\"Foo\"", "decoder.type" },
        { "normalizer", "{\"type\": \"Foo\"}", "normalizer.type" },
        { "normalizer", "{\"type\": \"Replace\", \"pattern\": 5, \"content\": \"x\"}", "normalizer.pattern" },
        { "normalizer", "{\"type\": \"Replace\", \"pattern\": {\"String\": 5}, \"content\": \"x\"}", "normalizer.pattern.String" },
        { "normalizer", "{\"type\": \"Sequence\", \"normalizers\": 5}", "normalizer.normalizers" },
    };

    [Theory]
    [MemberData(nameof(TokenizerEdits))]
    public void TokenizerJsonEdited(string path, string json, string mentioned)
    {
        var root = Hardening.ReadObject(Path.Combine(RepoPaths.TinyModel, "tokenizer.json"));
        Set(root, path, json);
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["tokenizer.json"] = Hardening.Json(root) });
        Hardening.Fails<TokenizerFormatException>(() => Tokenizer.Load(dir), Path.Combine(dir, "tokenizer.json"), mentioned);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"model\": ")]
    [InlineData("null")]
    public void TokenizerJsonNotAnObject(string text)
    {
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["tokenizer.json"] = System.Text.Encoding.UTF8.GetBytes(text) });
        Hardening.Fails<TokenizerFormatException>(() => Tokenizer.Load(dir), Path.Combine(dir, "tokenizer.json"));
    }

    /// <summary>(field, value as JSON, text the message must hold besides the file).</summary>
    public static TheoryData<string, string, string> ConfigEdits() => new()
    {
        { "eos_token", "\"<nope>\"", "eos_token" },
        { "bos_token", "\"<nope>\"", "bos_token" },
        { "pad_token", "\"<nope>\"", "pad_token" },
        { "unk_token", "\"<nope>\"", "unk_token" },
        { "eos_token", "5", "eos_token" },
        { "eos_token", "[]", "eos_token" },
        { "eos_token", "true", "eos_token" },
        { "eos_token", "{\"content\": 5}", "eos_token.content" },
        { "eos_token", "{\"content\": \"<nope>\"}", "eos_token" },
        { "bos_token", "{\"text\": \"<|begin_of_text|>\"}", "bos_token.content" },
    };

    [Theory]
    [MemberData(nameof(ConfigEdits))]
    public void TokenizerConfigEdited(string field, string json, string mentioned)
    {
        var root = Hardening.ReadObject(Path.Combine(RepoPaths.TinyModel, "tokenizer_config.json"));
        root[field] = Hardening.Value(json);
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["tokenizer_config.json"] = Hardening.Json(root) });
        Hardening.Fails<TokenizerFormatException>(() => Tokenizer.Load(dir), Path.Combine(dir, "tokenizer_config.json"), mentioned);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{")]
    public void TokenizerConfigNotAnObject(string text)
    {
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["tokenizer_config.json"] = System.Text.Encoding.UTF8.GetBytes(text) });
        Hardening.Fails<TokenizerFormatException>(() => Tokenizer.Load(dir), "tokenizer_config.json");
    }

    [Fact]
    public void CliTokenizeNamesTheField()
    {
        var root = Hardening.ReadObject(Path.Combine(RepoPaths.TinyModel, "tokenizer.json"));
        Set(root, "added_tokens[1].id", "\"1\"");
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["tokenizer.json"] = Hardening.Json(root) });
        Hardening.CliFails(["tokenize", "--tokenizer", dir, "--text", "Hello"], null, "tokenizer.json", "added_tokens[1].id");
    }

    /// <summary>Sets a value at a path like "a.b[0].c" (segments split on '.', with [i] indexing arrays).</summary>
    private static void Set(JsonObject root, string path, string json)
    {
        var segments = new List<object>();
        foreach (var part in SplitPath(path))
        {
            int br = part.IndexOf('[');
            if (br < 0) { segments.Add(part); continue; }
            segments.Add(part[..br]);
            foreach (var idx in part[br..].Split('[', StringSplitOptions.RemoveEmptyEntries)) segments.Add(int.Parse(idx.TrimEnd(']')));
        }
        JsonNode node = root;
        for (int i = 0; i < segments.Count - 1; i++) node = segments[i] is int k ? node[k]! : node[(string)segments[i]]!;
        var value = Hardening.Value(json);
        if (segments[^1] is int last) node.AsArray()[last] = value;
        else node.AsObject()[(string)segments[^1]] = value;
    }

    // Splits on '.' except inside the special-token name "<|begin_of_text|>" (which has no dots) - plain Split works.
    private static string[] SplitPath(string path) => path.Split('.');
}
