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

        [CommandOption("--file <PATH>")][Description("Read the text from a UTF-8 file (- = standard input; the default without --text)")]
        public string? File { get; init; }

        protected override void Check(OptionChecks c) => c
            .Check(Text is null || File is null, "give either --text or --file, not both").NotEmpty("--file", File).NotEmpty("--tokenizer", Tokenizer);
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var tok = Tokenizer.Load(s.Tokenizer ?? Cli.EmbeddedModel);
        var ids = tok.Encode(s.Text ?? ReadInput(s.File ?? "-"), addSpecialTokens: !s.NoSpecial);
        if (s.Json)
        {
            Cli.WriteJson(new { ids, tokens = ids.Select(tok.IdToToken).ToArray(), count = ids.Length, decoded = tok.Decode(ids) });
            return 0;
        }
        Console.WriteLine(string.Join(" ", ids));
        AnsiConsole.MarkupLine($"[grey]{ids.Length} tokens: {Markup.Escape(string.Join(" | ", ids.Select(tok.IdToToken)))}[/]");
        return 0;
    }

    /// <summary>The text of --file PATH, or of standard input for "-"; both must be UTF-8 without NUL bytes.</summary>
    private static string ReadInput(string file)
    {
        if (file != "-") return Lors.Train.Data.TextFile.ReadUtf8(file, "--file");
        using var stdin = Cli.OpenStandardInput();
        using var buffer = new MemoryStream();
        stdin.CopyTo(buffer);
        return buffer.Length == 0 ? "" : Lors.Train.Data.TextFile.Decode(buffer.ToArray(), "standard input", "--file -");
    }
}
