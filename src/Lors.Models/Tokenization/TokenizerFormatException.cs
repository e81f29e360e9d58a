// Thrown when a tokenizer.json cannot be understood; the message names the file and the offending JSON field.
namespace Lors.Models.Tokenization;

public sealed class TokenizerFormatException : Exception
{
    public TokenizerFormatException(string message) : base(message) { }
    public TokenizerFormatException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Path of the tokenizer file involved, if known.</summary>
    public string? FilePath { get; init; }

    /// <summary>JSON path of the field that is wrong (e.g. "model.type"), if known.</summary>
    public string? Field { get; init; }

    internal static TokenizerFormatException For(string file, string field, string problem) =>
        new($"{file}: field '{field}': {problem}") { FilePath = file, Field = field };
}
