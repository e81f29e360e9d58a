// Added tokens ("added_tokens"): found in the input before the model runs, leftmost-longest, honouring
// lstrip / rstrip (absorb neighbouring whitespace) and single_word (only match whole words).
using System.Buffers;

namespace Lors.Models.Tokenization;

internal sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip, bool Normalized, bool SingleWord);

internal sealed class AddedTokenMatcher
{
    // Candidates by first char, longest first, so the first hit at a position is the longest.
    readonly Dictionary<char, (string Pattern, AddedToken Token)[]> _byFirst;
    readonly SearchValues<char> _firsts;

    /// <param name="tokens">Tokens with the text to look for (content, or its normalized form).</param>
    public AddedTokenMatcher(IEnumerable<(string Pattern, AddedToken Token)> tokens)
    {
        _byFirst = tokens.Where(t => t.Pattern.Length > 0)
            .GroupBy(t => t.Pattern[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Pattern.Length).ToArray());
        _firsts = SearchValues.Create(_byFirst.Keys.ToArray());
    }

    public bool IsEmpty => _byFirst.Count == 0;

    /// <summary>Splits text into plain segments (Id = -1) and added-token segments (Id = token id).</summary>
    public List<(string Text, int Id)> Split(string text)
    {
        var result = new List<(string, int)>();
        if (IsEmpty) { result.Add((text, -1)); return result; }
        int plainStart = 0, pos = 0;
        while (pos < text.Length)
        {
            int rel = text.AsSpan(pos).IndexOfAny(_firsts);
            if (rel < 0) break;
            pos += rel;
            if (!TryMatchAt(text, pos, plainStart, out var token, out int matchStart, out int matchEnd)) { pos++; continue; }
            if (matchStart > plainStart) result.Add((text[plainStart..matchStart], -1));
            result.Add((text[matchStart..matchEnd], token.Id));
            plainStart = pos = matchEnd;
        }
        if (plainStart < text.Length) result.Add((text[plainStart..], -1));
        return result;
    }

    bool TryMatchAt(string text, int pos, int floor, out AddedToken token, out int start, out int end)
    {
        foreach (var (pattern, t) in _byFirst[text[pos]])
        {
            if (!text.AsSpan(pos).StartsWith(pattern, StringComparison.Ordinal)) continue;
            start = pos;
            end = pos + pattern.Length;
            if (t.SingleWord && !IsWholeWord(text, start, end)) continue;
            if (t.LStrip) while (start > floor && char.IsWhiteSpace(text[start - 1])) start--;
            if (t.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            token = t;
            return true;
        }
        token = null!;
        start = end = 0;
        return false;
    }

    static bool IsWholeWord(string text, int start, int end)
    {
        bool before = start == 0 || !IsWordChar(text[start - 1]);
        bool after = end == text.Length || !IsWordChar(text[end]);
        return before && after;
    }

    static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
