// Reads tokenizer.json (+ optional tokenizer_config.json) into the pipeline parts; every failure names file and field.
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Lors.Models.Tokenization;

internal sealed record TokenizerParts(
    BpeModel Model,
    IReadOnlyList<AddedToken> AddedTokens,
    INormalizer? Normalizer,
    IPreTokenizer? PreTokenizer,
    TemplatePostProcessor PostProcessor,
    IDecoder? Decoder,
    Dictionary<string, string?> ConfigTokens,
    string ConfigFile);

internal static class TokenizerLoader
{
    /// <summary>Ids at or above this are refused: the id tables are dense arrays sized by the largest id.</summary>
    public const int MaxTokenId = 1 << 24;

    public static TokenizerParts Load(string file)
    {
        try { return LoadUnchecked(file); }
        catch (Exception e) when (e is InvalidOperationException or FormatException or IndexOutOfRangeException or KeyNotFoundException)
        {
            // A JSON value of an unexpected type that a specific check above missed: still name the file.
            throw new TokenizerFormatException($"{file}: a field has an unexpected JSON type ({FirstLine(e.Message)})", e) { FilePath = file };
        }
    }

    static string FirstLine(string s) => s.Split('\n')[0].Trim();

    static TokenizerParts LoadUnchecked(string file)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(file)); }
        catch (JsonException e) { throw new TokenizerFormatException($"{file}: invalid JSON: {FirstLine(e.Message)}", e) { FilePath = file }; }
        using (doc)
        {
            var ctx = new Ctx(file);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw ctx.Fail("(root)", "expected a JSON object");
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw ctx.Fail("model", "missing or not an object");
            var bpe = ReadModel(ctx, model);
            var added = ReadAddedTokens(ctx, root);
            string configFile = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "tokenizer_config.json");
            return new TokenizerParts(bpe, added,
                ReadNormalizer(ctx, Opt(root, "normalizer"), "normalizer"),
                ReadPreTokenizer(ctx, Opt(root, "pre_tokenizer"), "pre_tokenizer"),
                ReadPostProcessor(ctx, Opt(root, "post_processor"), "post_processor", bpe, added),
                ReadDecoder(ctx, Opt(root, "decoder"), "decoder"),
                ReadConfig(configFile), configFile);
        }
    }

    sealed class Ctx(string file)
    {
        public TokenizerFormatException Fail(string field, string problem) => TokenizerFormatException.For(file, field, problem);
    }

    // Every accessor first checks that it is looking into an object: JsonElement throws a bare
    // InvalidOperationException otherwise, which would name neither the file nor the field.
    static bool Get(JsonElement obj, string name, out JsonElement v)
    {
        v = default;
        return obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out v);
    }

    static JsonElement? Opt(JsonElement obj, string name) =>
        Get(obj, name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    static string Str(Ctx ctx, JsonElement obj, string name, string path) =>
        obj.ValueKind != JsonValueKind.Object ? throw ctx.Fail(path, $"expected an object, found {Kind(obj)}")
        : Get(obj, name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
        : throw ctx.Fail($"{path}.{name}", $"missing or not a string (found {(Get(obj, name, out var f) ? Kind(f) : "nothing")})");

    /// <summary>An optional string: absent or null gives null; any other type is an error naming the field.</summary>
    static string? OptStr(Ctx ctx, JsonElement obj, string name, string path) =>
        !Get(obj, name, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : throw ctx.Fail($"{path}.{name}", $"expected a string, found {Kind(v)}");

    static bool Bool(Ctx ctx, JsonElement obj, string name, bool fallback, string path) =>
        !Get(obj, name, out var v) || v.ValueKind == JsonValueKind.Null ? fallback
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
        : throw ctx.Fail($"{path}.{name}", $"expected true or false, found {Kind(v)}");

    static int Int(Ctx ctx, JsonElement v, string path) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int x) && x >= 0 && x < MaxTokenId ? x
        : throw ctx.Fail(path, $"expected a token id (an integer in [0, {MaxTokenId})), found {Kind(v)}");

    static string Kind(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => $"string \"{Clip(v.GetString()!)}\"",
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => Clip(v.GetRawText()),
        var k => k.ToString().ToLowerInvariant(),
    };

    static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";

    static string TypeOf(Ctx ctx, JsonElement obj, string path) =>
        obj.ValueKind == JsonValueKind.Object ? Str(ctx, obj, "type", path) : throw ctx.Fail(path, "expected an object");

    static IEnumerable<(JsonElement Item, string Path)> Items(Ctx ctx, JsonElement obj, string name, string path)
    {
        if (!Get(obj, name, out var arr) || arr.ValueKind != JsonValueKind.Array) throw ctx.Fail($"{path}.{name}", "missing or not an array");
        int i = 0;
        foreach (var item in arr.EnumerateArray()) yield return (item, $"{path}.{name}[{i++}]");
    }

    static BpeModel ReadModel(Ctx ctx, JsonElement model)
    {
        string type = OptStr(ctx, model, "type", "model") ?? (model.TryGetProperty("merges", out _) ? "BPE" : "");
        if (type != "BPE") throw ctx.Fail("model.type", $"unsupported model type '{type}' (only BPE is supported)");
        if (!model.TryGetProperty("vocab", out var vocabEl) || vocabEl.ValueKind != JsonValueKind.Object)
            throw ctx.Fail("model.vocab", "missing or not an object");
        var vocab = new Dictionary<string, int>();
        foreach (var p in vocabEl.EnumerateObject())
        {
            vocab[p.Name] = Int(ctx, p.Value, $"model.vocab[\"{Clip(p.Name)}\"]");
        }
        var merges = new List<(string, string)>();
        if (model.TryGetProperty("merges", out var mergesEl) && mergesEl.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var m in mergesEl.EnumerateArray())
            {
                // Two layouts exist: ["a", "b"] (newer) and "a b" (older).
                if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2
                    && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
                    merges.Add((m[0].GetString()!, m[1].GetString()!));
                else if (m.ValueKind == JsonValueKind.String && m.GetString()!.Split(' ') is [var a, var b])
                    merges.Add((a, b));
                else throw ctx.Fail($"model.merges[{i}]", $"expected [\"left\", \"right\"] or \"left right\", found {Clip(m.GetRawText())}");
                i++;
            }
        }
        else if (model.TryGetProperty("merges", out _)) throw ctx.Fail("model.merges", "not an array");
        if (Opt(model, "dropout") is { } dropout && (dropout.ValueKind != JsonValueKind.Number || dropout.GetDouble() > 0))
            throw ctx.Fail("model.dropout", dropout.ValueKind != JsonValueKind.Number ? $"expected a number or null, found {Kind(dropout)}"
                : "BPE dropout is not supported (encoding would not be deterministic)");

        return new BpeModel(vocab, merges, OptStr(ctx, model, "unk_token", "model"), Bool(ctx, model, "fuse_unk", false, "model"),
            Bool(ctx, model, "byte_fallback", false, "model"), Bool(ctx, model, "ignore_merges", false, "model"),
            OptStr(ctx, model, "continuing_subword_prefix", "model"), OptStr(ctx, model, "end_of_word_suffix", "model"),
            problem => ctx.Fail("model", problem));
    }

    static List<AddedToken> ReadAddedTokens(Ctx ctx, JsonElement root)
    {
        var list = new List<AddedToken>();
        if (Opt(root, "added_tokens") is not { } arrEl) return list;
        foreach (var (t, path) in Items(ctx, root, "added_tokens", "(root)"))
        {
            if (t.ValueKind != JsonValueKind.Object) throw ctx.Fail(path, $"expected an object, found {Kind(t)}");
            if (!t.TryGetProperty("id", out var idEl)) throw ctx.Fail($"{path}.id", "missing");
            int id = Int(ctx, idEl, $"{path}.id");
            list.Add(new AddedToken(id, Str(ctx, t, "content", path), Bool(ctx, t, "special", false, path), Bool(ctx, t, "lstrip", false, path),
                Bool(ctx, t, "rstrip", false, path), Bool(ctx, t, "normalized", true, path), Bool(ctx, t, "single_word", false, path)));
        }
        return list;
    }

    static INormalizer? ReadNormalizer(Ctx ctx, JsonElement? el, string path)
    {
        if (el is not { } n) return null;
        string type = TypeOf(ctx, n, path);
        return type switch
        {
            "Sequence" => new SequenceNormalizer(Items(ctx, n, "normalizers", path).Select(x => ReadNormalizer(ctx, x.Item, x.Path)!).ToList()),
            "Prepend" => new PrependNormalizer(Str(ctx, n, "prepend", path)),
            "Replace" => ReadReplace(ctx, n, path),
            "NFC" => new UnicodeNormalizer(NormalizationForm.FormC),
            "NFD" => new UnicodeNormalizer(NormalizationForm.FormD),
            "NFKC" => new UnicodeNormalizer(NormalizationForm.FormKC),
            "NFKD" => new UnicodeNormalizer(NormalizationForm.FormKD),
            "Lowercase" => new LowercaseNormalizer(),
            "Strip" => new StripNormalizer(Bool(ctx, n, "strip_left", true, path), Bool(ctx, n, "strip_right", true, path)),
            _ => throw ctx.Fail($"{path}.type", $"unsupported normalizer type '{type}'"),
        };
    }

    static ReplaceNormalizer ReadReplace(Ctx ctx, JsonElement n, string path)
    {
        string content = Str(ctx, n, "content", path);
        var (literal, regex) = ReadPattern(ctx, n, path);
        return new ReplaceNormalizer(regex, literal, content);
    }

    /// <summary>A {"String": s} or {"Regex": r} pattern object.</summary>
    static (string? Literal, Regex? Regex) ReadPattern(Ctx ctx, JsonElement obj, string path)
    {
        if (!Get(obj, "pattern", out var p) || p.ValueKind != JsonValueKind.Object) throw ctx.Fail($"{path}.pattern", "missing or not an object");
        if (OptStr(ctx, p, "String", $"{path}.pattern") is { } s) return (s, null);
        if (OptStr(ctx, p, "Regex", $"{path}.pattern") is { } r)
        {
            try { return (null, new Regex(r, RegexOptions.Compiled | RegexOptions.CultureInvariant)); }
            catch (ArgumentException e) { throw ctx.Fail($"{path}.pattern.Regex", $"regex not usable in .NET: {e.Message}"); }
        }
        throw ctx.Fail($"{path}.pattern", "expected a \"String\" or \"Regex\" member");
    }

    static IPreTokenizer? ReadPreTokenizer(Ctx ctx, JsonElement? el, string path)
    {
        if (el is not { } p) return null;
        string type = TypeOf(ctx, p, path);
        switch (type)
        {
            case "Sequence":
                return new SequencePreTokenizer(Items(ctx, p, "pretokenizers", path).Select(x => ReadPreTokenizer(ctx, x.Item, x.Path)!).ToList());
            case "ByteLevel":
                return new ByteLevelPreTokenizer(Bool(ctx, p, "add_prefix_space", true, path), Bool(ctx, p, "use_regex", true, path));
            case "Split":
            {
                var (literal, regex) = ReadPattern(ctx, p, path);
                regex ??= new Regex(Regex.Escape(literal!), RegexOptions.CultureInvariant);
                string behavior = Str(ctx, p, "behavior", path);
                if (!Enum.TryParse<SplitBehavior>(behavior, out var b)) throw ctx.Fail($"{path}.behavior", $"unknown behavior '{behavior}'");
                return new SplitPreTokenizer(regex, b, Bool(ctx, p, "invert", false, path));
            }
            case "Metaspace":
            {
                string rep = Str(ctx, p, "replacement", path);
                if (rep.Length != 1) throw ctx.Fail($"{path}.replacement", "expected a single char");
                string scheme = OptStr(ctx, p, "prepend_scheme", path) ?? (Bool(ctx, p, "add_prefix_space", true, path) ? "always" : "never");
                return new MetaspacePreTokenizer(rep[0], scheme, Bool(ctx, p, "split", true, path));
            }
            case "Whitespace":
                return new SplitPreTokenizer(new Regex(@"\w+|[^\w\s]+", RegexOptions.Compiled), SplitBehavior.Removed, invert: true);
            case "WhitespaceSplit":
                return new SplitPreTokenizer(new Regex(@"\s+", RegexOptions.Compiled), SplitBehavior.Removed, invert: false);
            default:
                throw ctx.Fail($"{path}.type", $"unsupported pre_tokenizer type '{type}'");
        }
    }

    static TemplatePostProcessor ReadPostProcessor(Ctx ctx, JsonElement? el, string path, BpeModel model, List<AddedToken> added)
    {
        if (el is not { } p) return TemplatePostProcessor.Identity;
        string type = TypeOf(ctx, p, path);
        switch (type)
        {
            case "ByteLevel":
                return TemplatePostProcessor.Identity; // only adjusts offsets, which this API does not expose
            case "Sequence":
            {
                // Only one member may add tokens; the others (ByteLevel) leave ids alone.
                var parts = Items(ctx, p, "processors", path).Select(x => ReadPostProcessor(ctx, x.Item, x.Path, model, added)).ToList();
                return parts.FirstOrDefault(x => x != TemplatePostProcessor.Identity) ?? TemplatePostProcessor.Identity;
            }
            case "TemplateProcessing":
            {
                var specials = new Dictionary<string, int[]>();
                if (Opt(p, "special_tokens") is { } st)
                {
                    if (st.ValueKind != JsonValueKind.Object) throw ctx.Fail($"{path}.special_tokens", $"expected an object, found {Kind(st)}");
                    foreach (var s in st.EnumerateObject())
                    {
                        string spath = $"{path}.special_tokens.{s.Name}";
                        if (s.Value.ValueKind != JsonValueKind.Object) throw ctx.Fail(spath, $"expected an object, found {Kind(s.Value)}");
                        specials[s.Name] = Items(ctx, s.Value, "ids", spath).Select(x => Int(ctx, x.Item, x.Path)).ToArray();
                    }
                }
                var items = new List<int[]?>();
                foreach (var (item, ipath) in Items(ctx, p, "single", path))
                {
                    if (item.ValueKind != JsonValueKind.Object) throw ctx.Fail(ipath, $"expected a Sequence or SpecialToken object, found {Kind(item)}");
                    if (item.TryGetProperty("Sequence", out _)) items.Add(null);
                    else if (item.TryGetProperty("SpecialToken", out var sp))
                    {
                        string name = Str(ctx, sp, "id", $"{ipath}.SpecialToken");
                        items.Add(specials.TryGetValue(name, out var ids) ? ids
                            : throw ctx.Fail($"{ipath}.SpecialToken.id", $"'{name}' is not listed in {path}.special_tokens"));
                    }
                    else throw ctx.Fail(ipath, "expected a Sequence or SpecialToken item");
                }
                return new TemplatePostProcessor(items);
            }
            case "BertProcessing":
            case "RobertaProcessing":
            {
                // Layout: [cls] A [sep]; each of cls / sep is serialized as ["token", id].
                int Id(string name) => Get(p, name, out var v) && v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 2
                    ? Int(ctx, v[1], $"{path}.{name}[1]") : throw ctx.Fail($"{path}.{name}", "expected [token, id]");
                return new TemplatePostProcessor([[Id("cls")], null, [Id("sep")]]);
            }
            default:
                throw ctx.Fail($"{path}.type", $"unsupported post_processor type '{type}'");
        }
    }

    static IDecoder? ReadDecoder(Ctx ctx, JsonElement? el, string path)
    {
        if (el is not { } d) return null;
        string type = TypeOf(ctx, d, path);
        switch (type)
        {
            case "Sequence":
                return new SequenceDecoder(Items(ctx, d, "decoders", path).Select(x => ReadDecoder(ctx, x.Item, x.Path)!).ToList());
            case "ByteLevel": return new ByteLevelDecoder();
            case "ByteFallback": return new ByteFallbackDecoder();
            case "Fuse": return new FuseDecoder();
            case "Replace":
            {
                var (literal, _) = ReadPattern(ctx, d, path);
                if (literal == null) throw ctx.Fail($"{path}.pattern", "only String patterns are supported in the Replace decoder");
                return new ReplaceDecoder(literal, Str(ctx, d, "content", path));
            }
            case "Strip":
            {
                string content = Str(ctx, d, "content", path);
                if (content.Length != 1) throw ctx.Fail($"{path}.content", "expected a single char");
                int Count(string name) => Get(d, name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int x) && x >= 0 ? x
                    : throw ctx.Fail($"{path}.{name}", "missing or not a non-negative integer");
                return new StripDecoder(content[0], Count("start"), Count("stop"));
            }
            case "Metaspace":
            {
                string rep = Str(ctx, d, "replacement", path);
                if (rep.Length != 1) throw ctx.Fail($"{path}.replacement", "expected a single char");
                string scheme = OptStr(ctx, d, "prepend_scheme", path) ?? (Bool(ctx, d, "add_prefix_space", true, path) ? "always" : "never");
                return new MetaspaceDecoder(rep[0], scheme != "never");
            }
            default:
                throw ctx.Fail($"{path}.type", $"unsupported decoder type '{type}'");
        }
    }

    /// <summary>bos/eos/pad/unk names from tokenizer_config.json; a string or an {"content": ...} object each.</summary>
    static Dictionary<string, string?> ReadConfig(string configFile)
    {
        var result = new Dictionary<string, string?>();
        if (!File.Exists(configFile)) return result;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(configFile));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw TokenizerFormatException.For(configFile, "(root)", "expected a JSON object");
            foreach (var key in new[] { "bos_token", "eos_token", "pad_token", "unk_token" })
            {
                if (!doc.RootElement.TryGetProperty(key, out var v)) continue;
                result[key] = v.ValueKind switch
                {
                    JsonValueKind.String => v.GetString(),
                    JsonValueKind.Object => v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()
                        : throw TokenizerFormatException.For(configFile, $"{key}.content", "missing or not a string"),
                    JsonValueKind.Null => null,
                    _ => throw TokenizerFormatException.For(configFile, key, "expected a string, an object with \"content\", or null"),
                };
            }
        }
        catch (JsonException e) { throw new TokenizerFormatException($"{configFile}: invalid JSON: {FirstLine(e.Message)}", e) { FilePath = configFile }; }
        return result;
    }
}
