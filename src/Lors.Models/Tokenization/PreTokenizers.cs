// Pre-tokenizers from tokenizer.json ("pre_tokenizer"): split normalized text into words before BPE.
// Supported: ByteLevel (GPT-2 regex + byte-to-char mapping), Split (regex or string, all HF behaviours), Metaspace,
// Whitespace, WhitespaceSplit and Sequence.
using System.Text;
using System.Text.RegularExpressions;

namespace Lors.Models.Tokenization;

internal interface IPreTokenizer
{
    /// <summary>Refines a list of pieces; firstSegment is true for the segment that starts the input.</summary>
    List<string> PreTokenize(List<string> pieces, bool firstSegment);
}

internal enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

internal sealed class SequencePreTokenizer(IReadOnlyList<IPreTokenizer> parts) : IPreTokenizer
{
    public List<string> PreTokenize(List<string> pieces, bool firstSegment)
    {
        foreach (var p in parts) pieces = p.PreTokenize(pieces, firstSegment);
        return pieces;
    }
}

internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    /// <summary>GPT-2's pattern as HF declares it; Gpt2Splitter implements it on code points (kept here for tests).</summary>
    internal const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public List<string> PreTokenize(List<string> pieces, bool firstSegment)
    {
        var result = new List<string>(pieces.Count * 2);
        var spans = new List<(int Start, int Length)>();
        foreach (var raw in pieces)
        {
            string piece = addPrefixSpace && !raw.StartsWith(' ') ? " " + raw : raw;
            if (!useRegex) { result.Add(Map(piece)); continue; }
            spans.Clear();
            Gpt2Splitter.Split(piece, spans);
            foreach (var (start, length) in spans) result.Add(Map(piece.AsSpan(start, length)));
        }
        return result;
    }

    static string Map(ReadOnlySpan<char> text)
    {
        int n = Encoding.UTF8.GetByteCount(text);
        Span<byte> bytes = n <= 256 ? stackalloc byte[n] : new byte[n];
        Encoding.UTF8.GetBytes(text, bytes);
        return ByteLevelMap.Encode(bytes);
    }
}

internal sealed class SplitPreTokenizer(Regex pattern, SplitBehavior behavior, bool invert) : IPreTokenizer
{
    public List<string> PreTokenize(List<string> pieces, bool firstSegment)
    {
        var result = new List<string>();
        foreach (var p in pieces) SplitOne(p, pattern, behavior, invert, result);
        return result;
    }

    /// <summary>Cuts text into matched / unmatched spans and recombines them per behaviour (empty pieces dropped).</summary>
    internal static void SplitOne(string text, Regex regex, SplitBehavior behavior, bool invert, List<string> output)
    {
        var spans = new List<(int Start, int End, bool IsMatch)>();
        int last = 0;
        for (var m = regex.Match(text); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) continue;
            if (m.Index > last) spans.Add((last, m.Index, invert));
            spans.Add((m.Index, m.Index + m.Length, !invert));
            last = m.Index + m.Length;
        }
        if (last < text.Length) spans.Add((last, text.Length, invert));

        var pieces = new List<(int Start, int End)>();
        if (behavior == SplitBehavior.MergedWithNext)
        {
            // A delimiter joins the span to its right unless that span is itself a delimiter (HF folds from the right).
            bool rightWasMatch = false;
            for (int k = spans.Count - 1; k >= 0; k--)
            {
                var (s, e, isMatch) = spans[k];
                if (isMatch && !rightWasMatch && pieces.Count > 0) pieces[^1] = (s, pieces[^1].End);
                else pieces.Add((s, e));
                rightWasMatch = isMatch;
            }
            pieces.Reverse();
        }
        else
        {
            bool prevWasMatch = false;
            foreach (var (s, e, isMatch) in spans)
            {
                bool join = behavior switch
                {
                    SplitBehavior.MergedWithPrevious => isMatch && !prevWasMatch,
                    SplitBehavior.Contiguous => isMatch && prevWasMatch,
                    _ => false,
                };
                if (behavior == SplitBehavior.Removed && isMatch) { }
                else if (join && pieces.Count > 0) pieces[^1] = (pieces[^1].Start, e);
                else pieces.Add((s, e));
                prevWasMatch = isMatch;
            }
        }
        foreach (var (s, e) in pieces) if (e > s) output.Add(text[s..e]);
    }
}

/// <summary>Spaces become the replacement char, a prefix is added per the prepend scheme, then split before each one.</summary>
internal sealed class MetaspacePreTokenizer(char replacement, string prependScheme, bool split) : IPreTokenizer
{
    public List<string> PreTokenize(List<string> pieces, bool firstSegment)
    {
        var result = new List<string>();
        string rep = replacement.ToString();
        for (int i = 0; i < pieces.Count; i++)
        {
            string t = pieces[i].Replace(' ', replacement);
            bool prepend = prependScheme == "always" || (prependScheme == "first" && firstSegment && i == 0);
            if (prepend && !t.StartsWith(replacement)) t = rep + t;
            if (!split) { result.Add(t); continue; }
            int start = 0;
            for (int k = 1; k < t.Length; k++)
                if (t[k] == replacement) { result.Add(t[start..k]); start = k; }
            if (t.Length > start) result.Add(t[start..]);
        }
        return result;
    }
}
