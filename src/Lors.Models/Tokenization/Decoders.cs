// Decoders from tokenizer.json ("decoder"): each maps a token list to a token list; the final list is concatenated.
using System.Text;

namespace Lors.Models.Tokenization;

internal interface IDecoder
{
    List<string> DecodeChain(List<string> tokens);
}

internal sealed class SequenceDecoder(IReadOnlyList<IDecoder> parts) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        foreach (var p in parts) tokens = p.DecodeChain(tokens);
        return tokens;
    }
}

/// <summary>Byte-level chars back to bytes, then lossy UTF-8 over the whole sequence (one U+FFFD per maximal bad subpart).</summary>
internal sealed class ByteLevelDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var t in tokens) ByteLevelMap.AppendTokenBytes(t, bytes);
        return [Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes))];
    }
}

internal sealed class ReplaceDecoder(string pattern, string content) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) =>
        tokens.ConvertAll(t => t.Replace(pattern, content, StringComparison.Ordinal));
}

/// <summary>
/// Runs of "&lt;0xNN&gt;" tokens become the UTF-8 text they spell; a run that is not valid UTF-8 becomes one U+FFFD
/// per byte token (HF's rule, not lossy decoding).
/// </summary>
internal sealed class ByteFallbackDecoder : IDecoder
{
    static readonly UTF8Encoding Strict = new(false, true);

    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var run = new List<byte>();
        foreach (var t in tokens)
        {
            if (TryParseByteToken(t, out byte b)) { run.Add(b); continue; }
            FlushRun(run, result);
            result.Add(t);
        }
        FlushRun(run, result);
        return result;
    }

    internal static bool TryParseByteToken(string t, out byte value)
    {
        value = 0;
        return t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>'
            && byte.TryParse(t.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out value);
    }

    static void FlushRun(List<byte> run, List<string> result)
    {
        if (run.Count == 0) return;
        try { result.Add(Strict.GetString(run.ToArray())); }
        catch (DecoderFallbackException) { for (int k = 0; k < run.Count; k++) result.Add("\uFFFD"); }
        run.Clear();
    }
}

internal sealed class FuseDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary>Per token, removes up to Start leading and Stop trailing copies of one char.</summary>
internal sealed class StripDecoder(char content, int start, int stop) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => tokens.ConvertAll(Strip);

    string Strip(string t)
    {
        int from = 0, to = t.Length;
        while (from < start && from < to && t[from] == content) from++;
        int cut = 0;
        while (cut < stop && to > from && t[to - 1] == content) { to--; cut++; }
        return t[from..to];
    }
}

/// <summary>Metaspace: the replacement char becomes a space; the first token loses the prefix space that was added.</summary>
internal sealed class MetaspaceDecoder(char replacement, bool stripFirst) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            string t = tokens[i].Replace(replacement, ' ');
            if (i == 0 && stripFirst && t.StartsWith(' ')) t = t[1..];
            result.Add(t);
        }
        return result;
    }
}
