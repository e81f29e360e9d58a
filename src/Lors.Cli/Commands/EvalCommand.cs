// `lors eval`: perplexity by the fixtures' protocol (stream without BOS, windows of T+1 at stride T).
using System.ComponentModel;
using Lors.Models.Evaluation;
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class EvalCommand : Command<EvalCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--model <DIR>")][Description("Hugging Face model folder (default: the embedded tiny model)")]
        public string? Model { get; init; }

        [CommandOption("--text <FILE>")][Description("Text file to evaluate (default: the embedded brown.test.txt)")]
        public string? Text { get; init; }

        [CommandOption("--seq-len <T>")][Description("Window length T (default 256)")][DefaultValue(256)]
        public int SeqLen { get; init; } = 256;

        [CommandOption("--batch <B>")][Description("Windows per forward pass (default 4)")][DefaultValue(4)]
        public int Batch { get; init; } = 4;

        [CommandOption("--max-windows <N>")][Description("Evaluate at most N windows")]
        public int? MaxWindows { get; init; }

        [CommandOption("--compressed-24 <MODE>")][Description(Compressed24Option.Help)][DefaultValue("off")]
        public string Compressed24 { get; init; } = "off";

        protected override void Check(OptionChecks c) => c
            .NotEmpty("--model", Model).NotEmpty("--text", Text).OneOf("--compressed-24", Compressed24, "auto", "on", "off")
            .Positive("--seq-len", SeqLen).Positive("--batch", Batch).Positive("--max-windows", MaxWindows);
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var modelDir = Cli.ResolveModel(s.Model);
        var text = s.Text ?? Cli.EmbeddedText("test");
        var phases = new PhaseTimer();
        var r = Run(modelDir, text, s.SeqLen, s.Batch, s.MaxWindows ?? int.MaxValue, s.Device, s.Json, s.Compressed24);
        phases.Mark("total");
        if (s.Json) Cli.WriteJson(new { model = modelDir, text, seq_len = s.SeqLen, perplexity = r.Perplexity, loss = r.Loss, windows = r.Windows, predicted_tokens = r.PredictedTokens, stream_tokens = r.StreamTokens, seconds = r.Elapsed.TotalSeconds, tokens_per_second = r.TokensPerSecond, phases = new { load = phases.Seconds["total"] - r.Elapsed.TotalSeconds, eval = r.Elapsed.TotalSeconds, since_launch = phases.Seconds["since_launch"] } });
        else AnsiConsole.MarkupLine($"perplexity [bold]{r.Perplexity:F4}[/] (loss {r.Loss:F6}) over {r.PredictedTokens:N0} predicted tokens in {r.Windows} windows; {r.StreamTokens:N0} tokens in the text; {r.Elapsed.TotalSeconds:F1} s, {r.TokensPerSecond:F0} tokens/s");
        return 0;
    }

    public static PerplexityResult Run(string modelDir, string textPath, int seqLen, int batch, int maxWindows, Lors.Tensors.Device device, bool quiet,
        string compressed24 = "off")
    {
        if (!File.Exists(textPath)) throw new FileNotFoundException($"--text: file '{textPath}' does not exist");
        var tokenizer = Tokenizer.Load(modelDir);
        using var model = LlamaModel.Load(modelDir, device, device.IsCpu ? Lors.Tensors.DType.F32 : Lors.Tensors.DType.BF16);
        Compressed24Option.Apply(model, compressed24);
        return Evaluate(model, tokenizer, textPath, seqLen, batch, maxWindows, quiet);
    }

    public static PerplexityResult Evaluate(LlamaModel model, Tokenizer tokenizer, string textPath, int seqLen, int batch, int maxWindows, bool quiet)
    {
        var stream = tokenizer.Encode(Lors.Train.Data.TextFile.ReadUtf8(textPath, "--text"), addSpecialTokens: false);
        if (stream.Length < seqLen + 1)
            throw new InvalidDataException($"--text: '{textPath}' has {stream.Length} tokens, too few for one window of {seqLen + 1} (--seq-len {seqLen})");
        return Cli.WithProgress(quiet, $"eval {Path.GetFileName(textPath)}", report =>
            Perplexity.Evaluate(model, stream, seqLen, batch, maxWindows, (done, total) => report((double)done / total, $"eval {Path.GetFileName(textPath)} {done}/{total} windows")));
    }
}
