// `lors tokenize`: the ids (and pieces) of a text under a model's tokenizer.json.
using System.ComponentModel;
using Lors.Models.Tokenization;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class TokenizeCommand : Command<TokenizeCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--tokenizer <PATH>")][Description("tokenizer.json or a folder holding it (default: the embedded model's)")]
        public string? Tokenizer { get; init; }

        [CommandOption("--text <TEXT>")][Description("The text to encode")]
        public string? Text { get; init; }

        [CommandOption("--no-special")][Description("Do not add BOS (the post-processor's special tokens)")]
        public bool NoSpecial { get; init; }

        public override ValidationResult Validate() => Text is null ? ValidationResult.Error("--text is required") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var tok = Tokenizer.Load(s.Tokenizer ?? Cli.EmbeddedModel);
        var ids = tok.Encode(s.Text!, addSpecialTokens: !s.NoSpecial);
        if (s.Json)
        {
            Cli.WriteJson(new { ids, tokens = ids.Select(tok.IdToToken).ToArray(), count = ids.Length, decoded = tok.Decode(ids) });
            return 0;
        }
        Console.WriteLine(string.Join(" ", ids));
        AnsiConsole.MarkupLine($"[grey]{ids.Length} tokens: {Markup.Escape(string.Join(" | ", ids.Select(tok.IdToToken)))}[/]");
        return 0;
    }
}
