// Hand-written equivalent of GPT-2's pre-tokenizer regex, working on code points: .NET's \p{L} sees a UTF-16
// surrogate half, not the letter, so a regex would split supplementary-plane letters/digits differently from HF.
using System.Globalization;
using System.Text;

namespace Lors.Models.Tokenization;

internal static class Gpt2Splitter
{
    enum Kind { Space, Letter, Number, Other }

    /// <summary>Appends the pieces the pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ finds.</summary>
    public static void Split(string text, List<(int Start, int Length)> output)
    {
        int i = 0;
        while (i < text.Length)
        {
            int end = MatchAt(text, i);
            output.Add((i, end - i));
            i = end;
        }
    }

    static int MatchAt(string s, int i)
    {
        if (s[i] == '\'' && ContractionLength(s, i) is int c and > 0) return i + c;

        Kind kind = KindAt(s, i, out int width);
        if (s[i] == ' ' && i + 1 < s.Length)
        {
            // " ?X+" for letters, numbers and others: the optional space binds to a following non-space run.
            Kind next = KindAt(s, i + 1, out int nextWidth);
            if (next != Kind.Space) return RunEnd(s, i + 1 + nextWidth, next);
        }
        if (kind != Kind.Space) return RunEnd(s, i + width, kind);

        // Whitespace: \s+(?!\S) keeps the last space for the next word when a non-space follows; else \s+.
        int runEnd = RunEnd(s, i + width, Kind.Space);
        if (runEnd == s.Length) return runEnd;
        int lastStart = runEnd - 1;
        if (char.IsLowSurrogate(s[lastStart]) && lastStart > i) lastStart--;
        return lastStart > i ? lastStart : runEnd;
    }

    static int ContractionLength(string s, int i)
    {
        ReadOnlySpan<char> rest = s.AsSpan(i + 1);
        if (rest.StartsWith("re") || rest.StartsWith("ve") || rest.StartsWith("ll")) return 3;
        if (rest.Length > 0 && rest[0] is 's' or 't' or 'm' or 'd') return 2;
        return 0;
    }

    static int RunEnd(string s, int i, Kind kind)
    {
        while (i < s.Length && KindAt(s, i, out int w) == kind) i += w;
        return i;
    }

    static Kind KindAt(string s, int i, out int width)
    {
        if (Rune.DecodeFromUtf16(s.AsSpan(i), out Rune r, out width) != System.Buffers.OperationStatus.Done)
            return Kind.Other; // a lone surrogate is neither space, letter nor number
        if (Rune.IsWhiteSpace(r)) return Kind.Space;
        switch (Rune.GetUnicodeCategory(r))
        {
            case UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter:
                return Kind.Letter;
            case UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber:
                return Kind.Number;
            default:
                return Kind.Other;
        }
    }
}
