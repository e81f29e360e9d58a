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
        [CommandArgument(0, "<WHAT>")][Description("train | prune")]
        public string What { get; init; } = "train";
        [CommandOption("--shape <SHAPE>")][Description("tinyllama-1.1b | llama2-7b | llama3-8b | tiny (the embedded model's shape)")][DefaultValue("tinyllama-1.1b")]
        public string Shape { get; init; } = "tinyllama-1.1b";
        [CommandOption("--pattern <P>")][DefaultValue("2:4")] public string Pattern { get; init; } = "2:4";
        [CommandOption("--seq-len <T>")][DefaultValue(2048)] public int SeqLen { get; init; } = 2048;
        [CommandOption("--batch <B>")][DefaultValue(1)] public int Batch { get; init; } = 1;
        [CommandOption("--rank <R>")][DefaultValue(16)] public int Rank { get; init; } = 16;
        [CommandOption("--method <M>")][Description("train: lors | lora | masked | masked-ckpt | none (forward+backward, no adapters); prune: magnitude | wanda | sparsegpt")][DefaultValue("lors")]
        public string Method { get; init; } = "lors";
        [CommandOption("--checkpoint-layers")][Description("Recompute each decoder layer in backward (like +gc)")]
        public bool CheckpointLayers { get; init; }
        [CommandOption("--steps <N>")][DefaultValue(10)] public int Steps { get; init; } = 10;
        [CommandOption("--warmup <N>")][DefaultValue(3)] public int Warmup { get; init; } = 3;
        [CommandOption("--layers <N>")][Description("Override the layer count (quick runs)")] public int? Layers { get; init; }
        [CommandOption("--calib-samples <N>")][Description("prune: calibration samples of --seq-len random tokens")][DefaultValue(128)]
        public int CalibSamples { get; init; } = 128;
        [CommandOption("--profile")][Description("Print a per-op time breakdown of one step")] public bool Profile { get; init; }
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (s.What == "prune") return Prune(s);
        if (s.What != "train") throw new ArgumentException($"bench: unknown benchmark '{s.What}' (expected train or prune)");
        var r = TrainBench.Run(s);
        if (s.Json) Cli.WriteJson(r);
        else
        {
            AnsiConsole.MarkupLine($"[bold]{r.Shape}[/] T={r.SeqLen} B={r.Batch} {r.Method}{(r.CheckpointLayers ? "+gc" : "")} on {Markup.Escape(r.Device)}: median step [bold]{r.MedianStepMs:F1} ms[/] ({r.TokensPerSecond:F0} tokens/s), peak memory [bold]{Cli.Bytes(r.PeakBytes)}[/] (model {Cli.Bytes(r.ModelBytes)}); steps ms: {string.Join(" ", r.StepsMs.Select(x => x.ToString("F0")))}");
            if (r.Profile is not null) AnsiConsole.WriteLine(r.Profile);
        }
        return 0;
    }

    private static int Prune(Settings s)
    {
        if (s.Method == "lors") throw new ArgumentException("bench prune: give --method magnitude, wanda or sparsegpt");
        var r = PruneBench.Run(s);
        if (s.Json) Cli.WriteJson(r);
        else
            AnsiConsole.MarkupLine(Markup.Escape($"{r.Shape} {r.Method} {r.Pattern}, {r.Samples} x {r.SeqLen} calibration tokens on {r.Device} ({r.Engine} engine): " +
                $"{r.Seconds:F1} s (embed {r.EmbedSeconds:F1} s, calibration forward {r.CalibrationForwardSeconds:F1} s, solve {r.SolveSeconds:F1} s; " +
                $"slowest layer {r.SlowestLayerSeconds:F1} s), peak memory {Cli.Bytes(r.PeakBytes)} (model {Cli.Bytes(r.ModelBytes)}), " +
                $"sparsity {r.Sparsity:P2}, pattern {(r.PatternOk ? "ok" : "VIOLATED")} (check {r.CheckSeconds:F1} s)"));
        return r.PatternOk ? 0 : 1;
    }
}
