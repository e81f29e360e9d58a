// `lors demo`: the whole story on the embedded tiny model — dense perplexity, prune 2:4 with Wanda, perplexity,
// fine-tune with LoRS (or --method lora for contrast), perplexity, merge, verify the zeros, and a summary table.
using System.ComponentModel;
using System.Diagnostics;
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Lors.Tensors;
using Lors.Train.Adapters;
using Lors.Train.FineTuning;
using Lors.Train.Pruning;
using Lors.Train.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class DemoCommand : Command<DemoCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--method <METHOD>")][Description("lors (default) | lora | masked | masked-ckpt")][DefaultValue("lors")]
        public string Method { get; init; } = "lors";
        [CommandOption("--steps <N>")][Description("Fine-tuning steps (default 60)")][DefaultValue(60)]
        public int Steps { get; init; } = 60;
        [CommandOption("--batch <B>")][DefaultValue(8)] public int Batch { get; init; } = 8;
        [CommandOption("--seq-len <T>")][DefaultValue(256)] public int SeqLen { get; init; } = 256;
        [CommandOption("--lr <LR>")][DefaultValue(1e-3)] public double Lr { get; init; } = 1e-3;
        [CommandOption("--rank <R>")][DefaultValue(16)] public int Rank { get; init; } = 16;
        [CommandOption("--eval-windows <N>")][Description("Held-out windows of 256 tokens for each perplexity (default 64)")][DefaultValue(64)]
        public int EvalWindows { get; init; } = 64;
        [CommandOption("--calib-samples <N>")][DefaultValue(32)] public int CalibSamples { get; init; } = 32;
        [CommandOption("--seed <S>")][DefaultValue(0UL)] public ulong Seed { get; init; }
        [CommandOption("--clip <NORM>")][Description("Maximum global gradient norm (default 1.0; 0 turns clipping off)")][DefaultValue(1.0)]
        public double Clip { get; init; } = 1.0;
        [CommandOption("--out <DIR>")][Description("Output folder (default runs/demo-<method>)")]
        public string? Out { get; init; }

        protected override void Check(OptionChecks c) => c
            .OneOf("--method", Method, "lors", "lora", "masked", "sqft", "masked-ckpt", "masked-checkpoint")
            .Positive("--steps", Steps).Positive("--batch", Batch).AtLeast("--seq-len", SeqLen, 2).Positive("--lr", Lr)
            .Positive("--rank", Rank).Positive("--eval-windows", EvalWindows).Positive("--calib-samples", CalibSamples).NotEmpty("--out", Out)
            .NonNegative("--clip", Clip);
    }

    /// <summary>Empties --out of an earlier demo's files; a folder holding anything else is refused, never deleted.</summary>
    private static void ClearOutput(string outDir)
    {
        if (Directory.Exists(outDir))
        {
            var ours = FinetuneCommand.RunEntries.Append("merged").ToHashSet();
            var foreign = Directory.EnumerateFileSystemEntries(outDir).Select(Path.GetFileName).Where(n => !ours.Contains(n!)).Take(3).ToList();
            if (foreign.Count > 0)
                throw new IOException($"--out: folder '{outDir}' holds files the demo did not write ({string.Join(", ", foreign)}); choose another folder");
            Directory.Delete(outDir, recursive: true);
        }
        Directory.CreateDirectory(outDir);
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        var method = FinetuneCommand.ParseMethod(s.Method);
        var modelDir = Cli.EmbeddedModel;
        var outDir = Path.GetFullPath(s.Out ?? Path.Combine("runs", $"demo-{s.Method.ToLowerInvariant()}"));
        ClearOutput(outDir);
        var heldOut = Cli.EmbeddedText("test");
        var trainText = Cli.EmbeddedText("train");
        var device = s.Device;
        var dtype = device.IsCpu ? DType.F32 : DType.BF16;
        var tok = Tokenizer.Load(modelDir);
        using var model = LlamaModel.Load(modelDir, device, dtype);
        var memory = Backends.Get(device).Memory;
        memory.ResetPeak();
        Say(s, $"[bold]LoRS demo[/] on {Markup.Escape(Path.GetFileName(modelDir))} ({model.ParameterCount:N0} parameters) on {Markup.Escape(Backends.Get(device).Description)}");

        double Ppl(string label) => EvalCommand.Evaluate(model, tok, heldOut, 256, 8, s.EvalWindows, s.Json).Perplexity;
        var timings = new List<(string step, double seconds)>();
        T Timed<T>(string step, Func<T> f)
        {
            var sw = Stopwatch.StartNew();
            var r = f();
            timings.Add((step, sw.Elapsed.TotalSeconds));
            return r;
        }

        double dense = Timed("eval dense", () => Ppl("dense"));
        Say(s, $"dense perplexity {dense:F2}");
        var calibration = CalibrationData.FromText(tok, trainText, s.CalibSamples, 256, s.Seed);
        var prune = Timed("prune 2:4 wanda", () => Cli.WithProgress(s.Json, "prune 2:4 (Wanda)", report =>
            Pruner.Prune(model, new PruneOptions { Method = PruneMethod.Wanda, Pattern = new SparsityPattern.NM(2, 4) }, calibration,
                new SyncProgress<PruneProgress>(p => report((p.Layer + 0.5) / p.LayerCount, $"prune 2:4 (Wanda) {p}")))));
        var check = SparsityCheck.Check(model, new SparsityPattern.NM(2, 4));
        if (!check.Ok) throw new InvalidOperationException($"pruning did not produce an exact 2:4 pattern: {check}");
        double sparsityPruned = prune.Sparsity;
        double pruned = Timed("eval pruned", () => Ppl("pruned"));
        Say(s, $"pruned 2:4 with Wanda: sparsity {sparsityPruned:P1}, perplexity {pruned:F2}");

        var spec = new FineTuneSpec
        {
            DataPath = trainText,
            ValidationFraction = 0.02,
            Adapter = new AdapterConfig { Method = method, Rank = s.Rank, Alpha = s.Rank, Init = method == AdapterMethod.Lors ? AdapterInit.Gradient : AdapterInit.Lora, InitSamples = 32, Seed = s.Seed, BaseModel = modelDir },
            Train = new TrainOptions { Steps = s.Steps, BatchSize = s.Batch, SeqLen = s.SeqLen, Lr = s.Lr, WarmupSteps = Math.Max(1, s.Steps / 20), MinLrRatio = 0.1, ClipNorm = s.Clip, OutDir = outDir, Seed = s.Seed, LogEvery = 10, EvalEvery = Math.Max(1, s.Steps / 4), EvalBatches = 2 },
        };
        var ft = Timed("fine-tune", () => TrainUi.Run(s.Json, spec.Train, (progress, status) => FineTuneJob.Run(model, tok, spec, progress, status, cancellationToken)));
        double tuned;
        MergeReport merge;
        using (ft.Adapters)
        {
            tuned = Timed("eval fine-tuned", () => Ppl("tuned"));
            merge = Timed("merge", () => ft.Adapters.MergeIntoBase());
        }
        double merged = Timed("eval merged", () => Ppl("merged"));
        var mergedDir = Path.Combine(outDir, "merged");
        Timed("save", () => { model.SaveFolder(mergedDir, modelDir, force: true); return 0; });
        var after = SparsityCheck.Check(mergedDir, new SparsityPattern.NM(2, 4));
        double recovered = (pruned - tuned) / Math.Max(1e-9, pruned - dense);

        if (s.Json)
        {
            Cli.WriteJson(new { method = method.ToString(), dense, pruned, tuned, merged, recovered, sparsity_pruned = sparsityPruned, sparsity_merged = merge.SparsityAfter, filled_zeros = merge.FilledZeros, pattern_kept = after.Ok, peak_bytes = memory.PeakBytes, seconds = total.Elapsed.TotalSeconds, plot = ft.PlotPath, merged_dir = mergedDir, step_seconds = ft.MeanStepSeconds });
            return after.Ok || method == AdapterMethod.Lora ? 0 : 1;
        }
        var name = method switch { AdapterMethod.Lors => "LoRS", AdapterMethod.Lora => "LoRA", AdapterMethod.Masked => "masked LoRA", _ => "masked LoRA + checkpoint" };
        var t = new Table().Title($"[bold]LoRS demo: {name}[/]").AddColumns("", "perplexity", "sparsity (q,k,v,o,gate,up,down)");
        t.AddRow("dense", $"{dense:F2}", "0.0 %");
        t.AddRow("pruned 2:4 (Wanda)", $"{pruned:F2}", $"{sparsityPruned:P2}");
        t.AddRow($"after {name} ({s.Steps} steps)", $"{tuned:F2}", $"{merge.SparsityBefore:P2} (adapters unmerged)");
        t.AddRow("merged", $"{merged:F2}", $"{merge.SparsityAfter:P2}{(merge.FilledZeros > 0 ? $" ([red]{merge.FilledZeros:N0} zeros filled[/])" : " (every zero kept)")}");
        AnsiConsole.Write(t);
        AnsiConsole.MarkupLine($"recovered {recovered:P0} of the perplexity lost to pruning; 2:4 pattern after merge: {(after.Ok ? "[green]intact[/]" : "[red]broken[/]")}");
        AnsiConsole.MarkupLine($"time {total.Elapsed.TotalSeconds:F0} s ({string.Join(", ", timings.Select(x => $"{x.step} {x.seconds:F0} s"))}); mean step {ft.MeanStepSeconds:F2} s; peak memory {Cli.Bytes(memory.PeakBytes)}");
        AnsiConsole.MarkupLine($"loss plot: {Markup.Escape(ft.PlotPath ?? "-")}; metrics: {Markup.Escape(ft.MetricsPath)}; merged model: {Markup.Escape(mergedDir)}");
        return after.Ok || method == AdapterMethod.Lora ? 0 : 1;
    }

    private static void Say(Settings s, string markup)
    {
        if (!s.Json) AnsiConsole.MarkupLine(markup);
    }
}
