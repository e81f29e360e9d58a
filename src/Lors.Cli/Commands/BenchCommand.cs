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
        [CommandArgument(0, "<WHAT>")][Description("train (one fine-tuning step) | attention (each algorithm, forward and backward) | linear (each adapted linear alone, beside plain GEMMs) | prune | eval-tasks")]
        public string What { get; init; } = "train";
        [CommandOption("--shape <SHAPE>")][Description("tinyllama-1.1b | llama2-7b | llama2-13b | llama3-8b | llama2-70b | tiny (the embedded model's shape); for attention also all")][DefaultValue("tinyllama-1.1b")]
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
        [CommandOption("--compressed-24 <MODE>")][Description(Compressed24Option.Help)][DefaultValue("off")]
        public string Compressed24 { get; init; } = "off";
        [CommandOption("--profile")][Description("Print a per-op time breakdown of one step")] public bool Profile { get; init; }
        // eval-tasks: synthetic HellaSwag-shaped items (Bench/EvalTasksBench.cs)
        [CommandOption("--items <N>")][Description("eval-tasks: items (default 10042, HellaSwag validation)")][DefaultValue(10042)] public int Items { get; init; } = 10042;
        [CommandOption("--choices <N>")][Description("eval-tasks: endings per item")][DefaultValue(4)] public int Choices { get; init; } = 4;
        [CommandOption("--batch-tokens <N>")][Description("eval-tasks: tokens per forward pass (default 2048 cpu, 32768 cuda)")] public int? BatchTokens { get; init; }
        [CommandOption("--no-share")][Description("eval-tasks: score padded rows only (no shared contexts), as the harness does")] public bool NoShare { get; init; }

        protected override void Check(OptionChecks c) => c
            .OneOf("<WHAT>", What, "train", "attention", "linear", "prune", "eval-tasks").OneOf("--shape", Shape, "tinyllama-1.1b", "llama2-7b", "llama2-13b", "llama3-8b", "llama2-70b", "tiny", "all")
            .Parses("--pattern", Pattern, p => Lors.Train.Pruning.SparsityPattern.Parse(p))
            .Positive("--seq-len", SeqLen).Positive("--batch", Batch).Positive("--rank", Rank)
            .OneOf("--method", Method, What == "prune" ? ["magnitude", "wanda", "sparsegpt"] : ["lors", "lora", "masked", "masked-ckpt", "none"])
            .OneOf("--compressed-24", Compressed24, "auto", "on", "off")
            .Positive("--steps", Steps).NonNegative("--warmup", Warmup).Positive("--layers", Layers)
            .Positive("--calib-samples", CalibSamples).Positive("--items", Items).Positive("--choices", Choices).Positive("--batch-tokens", BatchTokens);
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        if (s.What == "eval-tasks") return EvalTasks(s);
        if (s.What == "prune") return Prune(s);
        if (s.What == "linear") return Linear(s);
        if (s.What == "attention") return Attention(s);
        if (s.What != "train") throw new ArgumentException($"bench: unknown benchmark '{s.What}' (expected train, attention, linear, prune or eval-tasks)");
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

    private static int Linear(Settings s)
    {
        var r = LinearBench.Run(s);
        if (s.Json) { Cli.WriteJson(r); return 0; }
        AnsiConsole.MarkupLine($"[bold]{r.Shape}[/] linear layers, N={r.Tokens} tokens, r={r.Rank}, on {Markup.Escape(r.Device)} (ms per call, median)");
        // plain = x W^T and gy W; lors and masked = forward + backward; merge = W' alone, fused and unfused.
        AnsiConsole.WriteLine($"{"proj",-10}{"out x in",13}{"plain",9}{"lors",9}{"ratio",7}{"masked",9}{"merge",8}{"unfused",9}");
        foreach (var x in r.Rows)
            AnsiConsole.WriteLine($"{x.Projection,-10}{x.Out + "x" + x.In,13}{x.PlainMs,9:F3}{x.LorsMs,9:F3}{x.LorsMs / x.PlainMs,7:F2}{x.MaskedMs,9:F3}{x.MergeFusedMs,8:F3}{x.MergeUnfusedMs,9:F3}");
        AnsiConsole.MarkupLine($"x {r.Layers} layers: plain GEMMs {r.PlainStepMs:F1} ms, LoRS linear {r.LorsStepMs:F1} ms ([bold]{r.LorsStepMs / r.PlainStepMs:F2}x[/]), masked linear {r.MaskedStepMs:F1} ms");
        return 0;
    }

    private static int Attention(Settings s)
    {
        var results = Lors.Conformance.AttentionBench.Run(s.Device, s.Shape, s.SeqLen, s.Batch, Math.Max(1, s.Steps),
            s.Json ? null : r => Console.WriteLine(r.ToString()));
        if (s.Json) Cli.WriteJson(results);
        return results.Any(r => double.IsNaN(r.Milliseconds)) ? 1 : 0;
    }
}
