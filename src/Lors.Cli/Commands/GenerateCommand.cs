// `lors generate`: stream tokens from a prompt with greedy decoding or seeded sampling (KV cache on).
using System.ComponentModel;
using Lors.Models.Generation;
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class GenerateCommand : Command<GenerateCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--model <DIR>")][Description("Hugging Face model folder (default: the embedded tiny model)")]
        public string? Model { get; init; }

        [CommandOption("--prompt <TEXT>")][Description("The prompt")]
        public string Prompt { get; init; } = "The";

        [CommandOption("--max-new-tokens <N>")][DefaultValue(64)]
        public int MaxNewTokens { get; init; } = 64;

        [CommandOption("--temperature <T>")][Description("0 = greedy (default)")][DefaultValue(0f)]
        public float Temperature { get; init; }

        [CommandOption("--top-k <K>")][DefaultValue(0)]
        public int TopK { get; init; }

        [CommandOption("--top-p <P>")][DefaultValue(1f)]
        public float TopP { get; init; } = 1f;

        [CommandOption("--seed <S>")][DefaultValue(0UL)]
        public ulong Seed { get; init; }

        [CommandOption("--compressed-24 <MODE>")][Description(Compressed24Option.Help)][DefaultValue("off")]
        public string Compressed24 { get; init; } = "off";

        protected override void Check(OptionChecks c) => c
            .NotEmpty("--model", Model).OneOf("--compressed-24", Compressed24, "auto", "on", "off").Positive("--max-new-tokens", MaxNewTokens).NonNegative("--temperature", Temperature)
            .Range("--top-p", TopP, 0, 1, loOpen: true).NonNegative("--top-k", TopK);
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var dir = Cli.ResolveModel(s.Model);
        var tok = Tokenizer.Load(dir);
        using var model = LlamaModel.Load(dir, s.Device, s.Device.IsCpu ? Lors.Tensors.DType.F32 : Lors.Tensors.DType.BF16);
        Compressed24Option.Apply(model, s.Compressed24);
        var prompt = tok.Encode(s.Prompt);
        int maxPositions = model.Config.MaxPositionEmbeddings;
        if (prompt.Length >= maxPositions)
            throw new ArgumentException($"--prompt: {prompt.Length} tokens, but the model takes at most {maxPositions} positions (leave room for new tokens)");
        var stops = model.Config.EosTokenIds.Concat(tok.EosTokenId is { } e ? [e] : Array.Empty<int>()).ToHashSet();
        var options = new SamplingOptions { MaxNewTokens = s.MaxNewTokens, Temperature = s.Temperature, TopK = s.TopK, TopP = s.TopP, Seed = s.Seed, StopTokens = stops, VocabLimit = tok.VocabSize };
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var ids = new List<int>();
        var stream = tok.CreateStreamDecoder();
        if (!s.Json) Console.Write(s.Prompt);
        foreach (var id in Generator.Generate(model, prompt, options))
        {
            cancellationToken.ThrowIfCancellationRequested();
            ids.Add(id);
            if (!s.Json) Console.Write(stream.Push(id));
        }
        if (!s.Json) Console.WriteLine(stream.Flush());
        double tps = ids.Count / sw.Elapsed.TotalSeconds;
        if (s.Json) Cli.WriteJson(new { prompt = s.Prompt, ids, text = tok.Decode(ids.ToArray()), tokens = ids.Count, tokens_per_second = tps });
        else AnsiConsole.MarkupLine($"[grey]{ids.Count} tokens, {tps:F1} tokens/s[/]");
        return 0;
    }
}
