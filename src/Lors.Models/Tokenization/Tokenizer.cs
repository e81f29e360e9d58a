// Hugging Face tokenizer.json tokenizer (BPE): added tokens -> normalizer -> pre-tokenizer -> BPE -> template,
// and the reverse through the declared decoder. Reproduces HF `tokenizers` ids and text on the supported components.
namespace Lors.Models.Tokenization;

public sealed class Tokenizer
{
    readonly TokenizerParts _parts;
    readonly string?[] _idToToken;
    readonly bool[] _isSpecial;
    readonly Dictionary<string, int> _addedByContent = new(StringComparer.Ordinal);
    readonly AddedTokenMatcher _rawMatcher;        // tokens with normalized=false, found in the raw input
    readonly AddedTokenMatcher _normalizedMatcher; // tokens with normalized=true, found after normalization

    Tokenizer(TokenizerParts parts)
    {
        _parts = parts;
        int max = -1;
        foreach (var id in parts.Model.Vocab.Values) max = Math.Max(max, id);
        foreach (var t in parts.AddedTokens) max = Math.Max(max, t.Id);
        VocabSize = max + 1;
        _idToToken = new string?[VocabSize];
        _isSpecial = new bool[VocabSize];
        foreach (var (token, id) in parts.Model.Vocab) _idToToken[id] = token;
        foreach (var t in parts.AddedTokens)
        {
            _idToToken[t.Id] = t.Content;
            _isSpecial[t.Id] = t.Special;
            _addedByContent[t.Content] = t.Id;
        }
        _rawMatcher = new AddedTokenMatcher(parts.AddedTokens.Where(t => !t.Normalized).Select(t => (t.Content, t)));
        // HF looks for normalized tokens by their normalized form (so a Prepend normalizer changes what is matched).
        _normalizedMatcher = new AddedTokenMatcher(parts.AddedTokens.Where(t => t.Normalized)
            .Select(t => (parts.Normalizer?.Normalize(t.Content) ?? t.Content, t)));

        var cfg = parts.ConfigTokens;
        BosTokenId = cfg.ContainsKey("bos_token") ? ConfigId("bos_token") : parts.PostProcessor.LeadingId;
        EosTokenId = cfg.ContainsKey("eos_token") ? ConfigId("eos_token") : FirstKnown("</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>");
        PadTokenId = cfg.ContainsKey("pad_token") ? ConfigId("pad_token") : FirstKnown("<pad>", "<|pad|>", "[PAD]");
        UnkTokenId = cfg.ContainsKey("unk_token") ? ConfigId("unk_token") : parts.Model.UnkId;
    }

    /// <summary>A special token named by tokenizer_config.json; one the vocabulary lacks is refused (transformers would
    /// add it as a new id the model has no embedding for, and generation would never see its EOS).</summary>
    int? ConfigId(string key)
    {
        if (_parts.ConfigTokens[key] is not { } token) return null;
        return TokenToId(token) ?? throw TokenizerFormatException.For(_parts.ConfigFile, key,
            $"'{(token.Length <= 40 ? token : token[..40] + "...")}' is not in the vocabulary of tokenizer.json");
    }

    /// <summary>Loads a tokenizer.json file, or the tokenizer.json inside a directory (tokenizer_config.json beside it is optional).</summary>
    public static Tokenizer Load(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, "tokenizer.json") : path;
        if (!File.Exists(file)) throw new FileNotFoundException($"tokenizer file not found: {file}", file);
        return new Tokenizer(TokenizerLoader.Load(file));
    }

    /// <summary>Number of ids, added tokens included (max id + 1).</summary>
    public int VocabSize { get; }
    public int? BosTokenId { get; }
    public int? EosTokenId { get; }
    public int? PadTokenId { get; }
    public int? UnkTokenId { get; }

    int? FirstKnown(params string[] names)
    {
        foreach (var n in names) if (TokenToId(n) is int id) return id;
        return null;
    }

    /// <summary>Encodes text; addSpecialTokens applies the post-processor (e.g. the leading BOS).</summary>
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        bool firstSegment = true;
        foreach (var (segment, addedId) in _rawMatcher.Split(text))
        {
            if (addedId >= 0) { ids.Add(addedId); firstSegment = false; continue; }
            string normalized = _parts.Normalizer?.Normalize(segment) ?? segment;
            foreach (var (piece, normalizedId) in _normalizedMatcher.Split(normalized))
            {
                if (normalizedId >= 0) { ids.Add(normalizedId); continue; }
                if (piece.Length == 0) continue; // an empty piece must not gain a prefix space from a pre-tokenizer
                if (_parts.PreTokenizer == null) { _parts.Model.Tokenize(piece, ids); continue; }
                foreach (var word in _parts.PreTokenizer.PreTokenize([piece], firstSegment))
                    _parts.Model.Tokenize(word, ids);
            }
            firstSegment = false;
        }
        return addSpecialTokens ? _parts.PostProcessor.Apply(ids) : ids.ToArray();
    }

    /// <summary>Decodes ids through the tokenizer's decoder; ids outside [0, VocabSize) throw.</summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = true)
    {
        var tokens = new List<string>(ids.Length);
        foreach (int id in ids)
        {
            CheckId(id);
            if (skipSpecialTokens && _isSpecial[id]) continue;
            if (_idToToken[id] is { } token) tokens.Add(token); // holes in the id space decode to nothing, as in HF
        }
        if (_parts.Decoder == null) return string.Join(' ', tokens);
        return string.Concat(_parts.Decoder.DecodeChain(tokens));
    }

    /// <summary>The token string of an id (the raw vocab form, e.g. "Ġthe" or "▁the"); "" for an unused id.</summary>
    public string IdToToken(int id)
    {
        CheckId(id);
        return _idToToken[id] ?? "";
    }

    public int? TokenToId(string token)
    {
        if (_addedByContent.TryGetValue(token, out int added)) return added;
        return _parts.Model.Vocab.TryGetValue(token, out int id) ? id : null;
    }

    public bool IsSpecial(int id) => id >= 0 && id < VocabSize && _isSpecial[id];

    public TokenStreamDecoder CreateStreamDecoder(bool skipSpecialTokens = true) => new(this, skipSpecialTokens);

    void CheckId(int id)
    {
        if ((uint)id >= (uint)VocabSize)
            throw new ArgumentOutOfRangeException("ids", $"token id {id} is outside the vocabulary [0, {VocabSize}) (vocab size {VocabSize})");
    }
}
