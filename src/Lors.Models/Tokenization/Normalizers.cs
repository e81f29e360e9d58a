// Text normalizers from tokenizer.json ("normalizer"): Sequence, Prepend, Replace, Unicode forms, Lowercase, Strip.
using System.Text;
using System.Text.RegularExpressions;

namespace Lors.Models.Tokenization;

internal interface INormalizer
{
    string Normalize(string text);
}

internal sealed class SequenceNormalizer(IReadOnlyList<INormalizer> parts) : INormalizer
{
    public string Normalize(string text)
    {
        foreach (var p in parts) text = p.Normalize(text);
        return text;
    }
}

/// <summary>Prepends a string, but never to empty text (so "" stays "" as in HF).</summary>
internal sealed class PrependNormalizer(string prefix) : INormalizer
{
    public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
}

internal sealed class ReplaceNormalizer(Regex? regex, string? literal, string content) : INormalizer
{
    public string Normalize(string text) =>
        literal != null ? text.Replace(literal, content, StringComparison.Ordinal) : regex!.Replace(text, content.Replace("$", "$$"));
}

internal sealed class UnicodeNormalizer(NormalizationForm form) : INormalizer
{
    public string Normalize(string text) => text.Normalize(form);
}

internal sealed class LowercaseNormalizer : INormalizer
{
    public string Normalize(string text) => text.ToLowerInvariant();
}

internal sealed class StripNormalizer(bool left, bool right) : INormalizer
{
    public string Normalize(string text) => left && right ? text.Trim() : left ? text.TrimStart() : right ? text.TrimEnd() : text;
}
