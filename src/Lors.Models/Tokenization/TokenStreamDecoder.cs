// Incremental decoding for generation: emits text as soon as it is complete, holding back partial UTF-8 sequences.
// Keeps the previous chunk's ids as context so context-dependent decoders (Strip, Metaspace, byte-level) agree with Decode.
namespace Lors.Models.Tokenization;

public sealed class TokenStreamDecoder
{
    readonly Tokenizer _tokenizer;
    readonly bool _skipSpecialTokens;
    readonly List<int> _ids = new();
    string _prefix = "";  // decoded text of _ids[.._prefixIndex], already emitted
    int _prefixIndex;     // ids before this index were emitted

    internal TokenStreamDecoder(Tokenizer tokenizer, bool skipSpecialTokens)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one id; returns the newly completed text (empty while a character is still incomplete).</summary>
    public string Push(int id)
    {
        if ((uint)id >= (uint)_tokenizer.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"token id {id} is outside the vocabulary [0, {_tokenizer.VocabSize})");
        _ids.Add(id);
        string text = _tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ids), _skipSpecialTokens);
        // A trailing U+FFFD usually means an unfinished UTF-8 sequence: wait for more ids.
        if (text.Length <= _prefix.Length || text.EndsWith('\uFFFD')) return "";
        return Emit(text);
    }

    /// <summary>Returns whatever is still held back (e.g. a truncated UTF-8 sequence, as U+FFFD) and resets.</summary>
    public string Flush()
    {
        string text = _tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ids), _skipSpecialTokens);
        string rest = text.Length > _prefix.Length && text.StartsWith(_prefix, StringComparison.Ordinal) ? text[_prefix.Length..] : "";
        _ids.Clear();
        _prefix = "";
        _prefixIndex = 0;
        return rest;
    }

    string Emit(string text)
    {
        // The earlier prefix should be a prefix of the longer decode; if a decoder rewrote it, emit only the new tail.
        string fresh = text.StartsWith(_prefix, StringComparison.Ordinal) ? text[_prefix.Length..] : text[Math.Min(_prefix.Length, text.Length)..];
        // Drop ids older than the previous chunk; the previous chunk stays as context for the next decode.
        _ids.RemoveRange(0, _prefixIndex);
        _prefixIndex = _ids.Count;
        _prefix = _tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ids), _skipSpecialTokens);
        return fresh;
    }
}
