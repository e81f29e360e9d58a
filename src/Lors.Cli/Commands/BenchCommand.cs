// `lors bench train`: one fine-tuning step at a real model shape (random init, 2:4 magnitude pruning, rank-16 adapters),
// median step time, tokens/s and peak device memory over timed steps after warm-up — the shape of the PyTorch anchor.
using System.ComponentModel;
using Lors.Cli.Bench;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class BenchCommand : Command<BenchCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandArgument(0, "<WHAT>")][Description("train | eval-tasks")]
        public string What { get; init; } = "train";
        [CommandOption("--shape <SHAPE>")][Description("tinyllama-1.1b | llama2-7b | llama2-13b | llama3-8b | llama2-70b | tiny (the embedded model's shape)")][DefaultValue("tinyllama-1.1b")]
        public string Shape { get; init; } = "tinyllama-1.1b";
        [CommandOption("--pattern <P>")][DefaultValue("2:4")] public string Pattern { get; init; } = "2:4";
        [CommandOption("--seq-len <T>")][DefaultValue(2048)] public int SeqLen { get; init; } = 2048;
        [CommandOption("--batch <B>")][DefaultValue(1)] public int Batch { get; init; } = 1;
        [CommandOption("--rank <R>")][DefaultValue(16)] public int Rank { get; init; } = 16;
        [CommandOption("--method <M>")][Description("lors | lora | masked | masked-ckpt | none (forward+backward, no adapters)")][DefaultValue("lors")]
        public string Method { get; init; } = "lors";
        [CommandOption("--checkpoint-layers")][Description("Recompute each decoder layer in backward (like +gc)")]
        public bool CheckpointLayers { get; init; }
        [CommandOption("--steps <N>")][DefaultValue(10)] public int Steps { get; init; } = 10;
        [CommandOption("--warmup <N>")][DefaultValue(3)] public int Warmup { get; init; } = 3;
        [CommandOption("--layers <N>")][Description("Override the layer count (quick runs)")] public int? Layers { get; init; }
        [CommandOption("--compressed-24 <MODE>")][Description(Compressed24Option.Help)][DefaultValue("auto")]
        public string Compressed24 { get; init; } = "auto";
        [CommandOption("--profile")][Description("Print a per-op time breakdown of one step")] public bool Profile { get; init; }
        // eval-tasks: synthetic HellaSwag-shaped items (Bench/EvalTasksBench.cs)
        [CommandOption("--items <N>")][Description("eval-tasks: items (default 10042, HellaSwag validation)")][DefaultValue(10042)] public int Items { get; init; } = 10042;
        [CommandOption("--choices <N>")][Description("eval-tasks: endings per item")][DefaultValue(4)] public int Choices { get; init; } = 4;
        [CommandOption("--batch-tokens <N>")][Description("eval-tasks: tokens per forward pass (default 2048 cpu, 32768 cuda)")] public int? BatchTokens { get; init; }
        [CommandOption("--no-share")][Description("eval-tasks: score padded rows only (no shared contexts), as the harness does")] public bool NoShare { get; init; }

        protected override void Check(OptionChecks c) => c
            .OneOf("<WHAT>", What, "train", "eval-tasks").OneOf("--shape", Shape, "tinyllama-1.1b", "llama2-7b", "llama2-13b", "llama3-8b", "llama2-70b", "tiny")
            .Parses("--pattern", Pattern, p => Lors.Train.Pruning.SparsityPattern.Parse(p))
            .Positive("--seq-len", SeqLen).Positive("--batch", Batch).Positive("--rank", Rank)
            .OneOf("--method", Method, "lors", "lora", "masked", "masked-ckpt", "none").OneOf("--compressed-24", Compressed24, "auto", "on", "off")
            .Positive("--steps", Steps).NonNegative("--warmup", Warmup).Positive("--layers", Layers)
            .Positive("--items", Items).Positive("--choices", Choices).Positive("--batch-tokens", BatchTokens);
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (s.What == "eval-tasks") return EvalTasks(s);
        if (s.What != "train") throw new ArgumentException($"bench: unknown benchmark '{s.What}' (expected train or eval-tasks)");
        var r = TrainBench.Run(s);
        if (s.Json) Cli.WriteJson(r);
        else
        {
            AnsiConsole.MarkupLine($"[bold]{r.Shape}[/] T={r.SeqLen} B={r.Batch} {r.Method}{(r.CheckpointLayers ? "+gc" : "")} ({Markup.Escape(r.Weights)} weights) on {Markup.Escape(r.Device)}: median step [bold]{r.MedianStepMs:F1} ms[/] ({r.TokensPerSecond:F0} tokens/s), peak memory [bold]{Cli.Bytes(r.PeakBytes)}[/] (model {Cli.Bytes(r.ModelBytes)}); steps ms: {string.Join(" ", r.StepsMs.Select(x => x.ToString("F0")))}");
            if (r.Profile is not null) AnsiConsole.WriteLine(r.Profile);
        }
        return 0;
    }

    private static int EvalTasks(Settings s)
    {
        if (s.Items < 1 || s.Choices < 1) throw new ArgumentException($"bench eval-tasks: --items and --choices must be positive, got {s.Items} and {s.Choices}");
        var r = EvalTasksBench.Run(s);
        if (s.Json) Cli.WriteJson(r);
        else AnsiConsole.MarkupLine($"[bold]{r.Shape}[/] eval-tasks on {Markup.Escape(r.Device)}: {r.Items:N0} items x {r.Choices} ({(r.ShareContexts ? "shared contexts" : "padded rows")}, batch {r.BatchTokens} tokens) in [bold]{r.Seconds:F1} s[/] " +
            $"({r.ItemsPerSecond:F0} items/s); {r.RequestTokens:N0} request tokens, {r.ForwardTokens:N0} forward tokens in {r.Forwards:N0} passes ({r.ForwardTokensPerSecond:F0} tokens/s); peak memory {Cli.Bytes(r.PeakBytes)}");
        return 0;
    }
}
