// `lors bench train`: one fine-tuning step at a real model shape (random init, 2:4 magnitude pruning, rank-16 adapters),
// median step time, tokens/s and peak device memory over timed steps after warm-up — the shape of the PyTorch anchor.
// `lors bench attention`: forward and backward of each CUDA attention algorithm at a model's attention shape.
using System.ComponentModel;
using Lors.Cli.Bench;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class BenchCommand : Command<BenchCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandArgument(0, "<WHAT>")][Description("train | attention")]
        public string What { get; init; } = "train";
        [CommandOption("--shape <SHAPE>")][Description("tinyllama-1.1b | llama2-7b | llama3-8b | tiny (the embedded model's shape); for attention also all")][DefaultValue("tinyllama-1.1b")]
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
        [CommandOption("--profile")][Description("Print a per-op time breakdown of one step")] public bool Profile { get; init; }
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (s.What == "attention") return Attention(s);
        if (s.What != "train") throw new ArgumentException($"bench: unknown benchmark '{s.What}' (expected train or attention)");
        var r = TrainBench.Run(s);
        if (s.Json) Cli.WriteJson(r);
        else
        {
            AnsiConsole.MarkupLine($"[bold]{r.Shape}[/] T={r.SeqLen} B={r.Batch} {r.Method}{(r.CheckpointLayers ? "+gc" : "")} on {Markup.Escape(r.Device)}: median step [bold]{r.MedianStepMs:F1} ms[/] ({r.TokensPerSecond:F0} tokens/s), peak memory [bold]{Cli.Bytes(r.PeakBytes)}[/] (model {Cli.Bytes(r.ModelBytes)}); steps ms: {string.Join(" ", r.StepsMs.Select(x => x.ToString("F0")))}");
            if (r.Profile is not null) AnsiConsole.WriteLine(r.Profile);
        }
        return 0;
    }

    private static int Attention(Settings s)
    {
        var results = Lors.Tensors.Conformance.AttentionBench.Run(s.Device, s.Shape, s.SeqLen, s.Batch, Math.Max(1, s.Steps),
            s.Json ? null : r => Console.WriteLine(r.ToString()));
        if (s.Json) Cli.WriteJson(results);
        return results.Any(r => double.IsNaN(r.Milliseconds)) ? 1 : 0;
    }
}
