// `lors finetune`: adapters (LoRS, LoRA, masked, masked-ckpt) on text or Alpaca data, with a live progress bar,
// periodic evaluation, checkpoints (--resume), metrics.jsonl and loss.png in --out.
using System.ComponentModel;
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Lors.Tensors;
using Lors.Train.Adapters;
using Lors.Train.FineTuning;
using Lors.Train.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class FinetuneCommand : Command<FinetuneCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--model <DIR>")][Description("Hugging Face model folder (default: the embedded tiny model)")]
        public string? Model { get; init; }
        [CommandOption("--method <METHOD>")][Description("lors | lora | masked | masked-ckpt (default lors)")][DefaultValue("lors")]
        public string Method { get; init; } = "lors";
        [CommandOption("--data <FILE>")][Description("Training data: plain text or Alpaca JSON/JSONL")]
        public string? Data { get; init; }
        [CommandOption("--format <FORMAT>")][Description("text | alpaca (default: alpaca for .json/.jsonl, else text)")]
        public string? Format { get; init; }
        [CommandOption("--packing")][Description("Alpaca: pack examples into full blocks instead of padding")]
        public bool Packing { get; init; }
        [CommandOption("--rank <R>")][DefaultValue(16)] public int Rank { get; init; } = 16;
        [CommandOption("--alpha <A>")][DefaultValue(16.0)] public double Alpha { get; init; } = 16;
        [CommandOption("--targets <LIST>")][Description("Comma-separated projections (default q,k,v,o,gate,up,down)")]
        public string? Targets { get; init; }
        [CommandOption("--init <INIT>")][Description("gradient (LoRS default) | lora")][DefaultValue("gradient")]
        public string Init { get; init; } = "gradient";
        [CommandOption("--init-samples <N>")][DefaultValue(128)] public int InitSamples { get; init; } = 128;
        [CommandOption("--lors-gradient <KIND>")]
        [Description("LoRS adapter gradients: low-rank (default: the authors' gradient, without the mask and without s; never forms out x in) | exact-masked (the exact gradient of the masked product; forms out x in per layer, for comparison)")]
        [DefaultValue("low-rank")]
        public string LorsGradient { get; init; } = "low-rank";
        [CommandOption("--lr <LR>")][DefaultValue(2e-4)] public double Lr { get; init; } = 2e-4;
        [CommandOption("--weight-decay <WD>")][DefaultValue(0.0)] public double WeightDecay { get; init; }
        [CommandOption("--warmup <STEPS>")][DefaultValue(0)] public int Warmup { get; init; }
        [CommandOption("--min-lr-ratio <R>")][DefaultValue(0.1)] public double MinLrRatio { get; init; } = 0.1;
        [CommandOption("--clip <NORM>")][DefaultValue(1.0)] public double Clip { get; init; } = 1.0;
        [CommandOption("--steps <N>")][Description("Optimizer steps (overrides --epochs)")] public int Steps { get; init; }
        [CommandOption("--epochs <E>")][DefaultValue(1.0)] public double Epochs { get; init; } = 1;
        [CommandOption("--batch <B>")][DefaultValue(8)] public int Batch { get; init; } = 8;
        [CommandOption("--seq-len <T>")][DefaultValue(256)] public int SeqLen { get; init; } = 256;
        [CommandOption("--grad-accum <G>")][DefaultValue(1)] public int GradAccum { get; init; } = 1;
        [CommandOption("--eval-every <N>")][DefaultValue(0)] public int EvalEvery { get; init; }
        [CommandOption("--eval-batches <N>")][DefaultValue(0)] public int EvalBatches { get; init; }
        [CommandOption("--val-fraction <F>")][DefaultValue(0.05)] public double ValFraction { get; init; } = 0.05;
        [CommandOption("--checkpoint-every <N>")][DefaultValue(0)] public int CheckpointEvery { get; init; }
        [CommandOption("--checkpoint-layers")][Description("Recompute each decoder layer in backward (less memory)")]
        public bool CheckpointLayers { get; init; }
        [CommandOption("--max-examples <N>")][Description("Use at most N training blocks")] public int? MaxExamples { get; init; }
        [CommandOption("--seed <S>")][DefaultValue(42UL)] public ulong Seed { get; init; } = 42;
        [CommandOption("--out <DIR>")][Description("Output folder: adapter/, checkpoint/, metrics.jsonl, loss.png")]
        public string? Out { get; init; }
        [CommandOption("--resume")][Description("Continue from --out's checkpoint")] public bool Resume { get; init; }

        [CommandOption("--overwrite")][Description("Start afresh in a non-empty --out (its run files are deleted first)")]
        public bool Overwrite { get; init; }

        [CommandOption("--compressed-24 <MODE>")][Description(Compressed24Option.Help)][DefaultValue("off")]
        public string Compressed24 { get; init; } = "off";

        protected override void Check(OptionChecks c) => c
            .OneOf("--compressed-24", Compressed24, "auto", "on", "off").Required("--data", Data).Required("--out", Out).NotEmpty("--data", Data).NotEmpty("--out", Out).NotEmpty("--model", Model)
            .OneOf("--method", Method, "lors", "lora", "masked", "sqft", "masked-ckpt", "masked-checkpoint")
            .OneOf("--format", Format, "text", "alpaca").OneOf("--init", Init, "gradient", "lora")
            .OneOf("--lors-gradient", LorsGradient, "low-rank", "exact-masked")
            .Parses("--targets", Targets, t => ParseTargets(t))
            .Positive("--rank", Rank).Positive("--alpha", Alpha).Positive("--init-samples", InitSamples)
            .Positive("--lr", Lr).NonNegative("--weight-decay", WeightDecay).NonNegative("--warmup", Warmup)
            .Range("--min-lr-ratio", MinLrRatio, 0, 1).NonNegative("--clip", Clip).NonNegative("--steps", Steps)
            .Positive("--epochs", Epochs).Positive("--batch", Batch).AtLeast("--seq-len", SeqLen, 2).Positive("--grad-accum", GradAccum)
            .NonNegative("--eval-every", EvalEvery).NonNegative("--eval-batches", EvalBatches)
            .Range("--val-fraction", ValFraction, 0, 1, hiOpen: true).NonNegative("--checkpoint-every", CheckpointEvery)
            .Positive("--max-examples", MaxExamples)
            .Check(!(Resume && Overwrite), "give either --resume or --overwrite, not both")
            .Check(!(Packing && Format?.Trim().ToLowerInvariant() == "text"), "--packing applies to --format alpaca only");
    }

    public static AdapterMethod ParseMethod(string s) => s.Trim().ToLowerInvariant() switch
    {
        "lors" => AdapterMethod.Lors,
        "lora" => AdapterMethod.Lora,
        "masked" or "sqft" => AdapterMethod.Masked,
        "masked-ckpt" or "masked-checkpoint" => AdapterMethod.MaskedCheckpoint,
        _ => throw new ArgumentException($"--method: unknown method '{s}' (expected lors, lora, masked or masked-ckpt)"),
    };

    /// <summary>The files a run writes in --out (what --overwrite deletes; anything else in the folder is left alone).</summary>
    public static readonly string[] RunEntries = ["metrics.jsonl", "loss.png", FineTuneJob.AdapterFolder,
        TrainingStateStore.DirName, TrainingStateStore.DirName + ".tmp", TrainingStateStore.DirName + ".old"];

    /// <summary>A fresh run refuses a non-empty --out (it would mix two runs' metrics); --overwrite clears the run's files.</summary>
    public static void PrepareOutput(string outDir, bool resume, bool overwrite)
    {
        if (resume || !Directory.Exists(outDir) || !Directory.EnumerateFileSystemEntries(outDir).Any()) return;
        if (!overwrite)
        {
            var found = Directory.EnumerateFileSystemEntries(outDir).Select(Path.GetFileName).Take(3);
            throw new IOException($"--out: folder '{outDir}' is not empty ({string.Join(", ", found)}...); use --resume to continue its run or --overwrite to start over");
        }
        foreach (var name in RunEntries)
        {
            var p = Path.Combine(outDir, name);
            if (Directory.Exists(p)) Directory.Delete(p, recursive: true);
            else if (File.Exists(p)) File.Delete(p);
        }
    }

    public static Projection[] ParseTargets(string list)
    {
        var parts = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new ArgumentException($"--targets: no projection in '{list}' (expected a list of q,k,v,o,gate,up,down)");
        return parts.Select(Projections.Parse).Distinct().ToArray();
    }

    public static LorsGradient ParseLorsGradient(string s) => s.Trim().ToLowerInvariant() switch
    {
        "low-rank" => Train.Adapters.LorsGradient.LowRank,
        "exact-masked" => Train.Adapters.LorsGradient.ExactMasked,
        _ => throw new ArgumentException($"--lors-gradient: unknown kind '{s}' (expected low-rank or exact-masked)"),
    };

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var dir = Cli.ResolveModel(s.Model);
        var device = s.Device;
        PrepareOutput(s.Out!, s.Resume, s.Overwrite);
        var phases = new PhaseTimer();
        var tok = Tokenizer.Load(dir);
        using var model = LlamaModel.Load(dir, device, device.IsCpu ? DType.F32 : DType.BF16);
        phases.Mark("load");
        var format = (s.Format ?? (s.Data!.EndsWith(".json") || s.Data.EndsWith(".jsonl") ? "alpaca" : "text")).ToLowerInvariant() switch
        {
            "text" => DataFormat.Text,
            "alpaca" => DataFormat.Alpaca,
            var f => throw new ArgumentException($"--format: unknown format '{f}' (expected text or alpaca)"),
        };
        var spec = new FineTuneSpec
        {
            DataPath = s.Data!,
            Format = format,
            AlpacaMode = s.Packing ? Lors.Train.Data.AlpacaMode.Packing : Lors.Train.Data.AlpacaMode.Padding,
            ValidationFraction = s.ValFraction,
            Resume = s.Resume,
            CheckpointLayers = s.CheckpointLayers,
            MaxExamples = s.MaxExamples,
            Compressed24 = Lors.Train.Sparse.Compression24.ParseMode(s.Compressed24),
            Adapter = new AdapterConfig
            {
                Method = ParseMethod(s.Method),
                Rank = s.Rank,
                Alpha = s.Alpha,
                Targets = s.Targets is null ? Projections.All : ParseTargets(s.Targets),
                Init = s.Init.ToLowerInvariant() == "lora" ? AdapterInit.Lora : AdapterInit.Gradient,
                InitSamples = s.InitSamples,
                Gradient = ParseLorsGradient(s.LorsGradient),
                Seed = s.Seed,
                BaseModel = Path.GetFullPath(dir),
            },
            Train = new TrainOptions
            {
                Steps = s.Steps, Epochs = s.Epochs, BatchSize = s.Batch, SeqLen = s.SeqLen, GradAccum = s.GradAccum, Lr = s.Lr,
                WeightDecay = s.WeightDecay, WarmupSteps = s.Warmup, MinLrRatio = s.MinLrRatio, ClipNorm = s.Clip,
                EvalEvery = s.EvalEvery, EvalBatches = s.EvalBatches, CheckpointEvery = s.CheckpointEvery, OutDir = s.Out!, Seed = s.Seed,
            },
        };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        // SIGTERM (schedulers, docker stop) is handled like Ctrl-C: checkpoint at the step boundary, then exit.
        using var onTerm = OperatingSystem.IsWindows() ? null
            : System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; cts.Cancel(); });
        try
        {
            bool first = true;
            var outcome = TrainUi.Run(s.Json, spec.Train, (progress, status) => FineTuneJob.Run(model, tok, spec, new StepClock(progress, () =>
            {
                if (!first) return;
                first = false;
                phases.At("first_step_done_since_launch");
            }), new StatusClock(status, text =>
            {
                if (text == "training") phases.At("training_started_since_launch");
            }), cts.Token));
            phases.Mark("run");
            using (outcome.Adapters)
            {
                var r = outcome.Result;
                if (s.Json)
                    Cli.WriteJson(new { method = spec.Adapter.Method.ToString(), steps = r.Step, total_steps = r.TotalSteps, cancelled = r.Cancelled, last_loss = r.LastLoss, last_eval_loss = r.LastEvalLoss, adapter_dir = outcome.AdapterDir, metrics = outcome.MetricsPath, plot = outcome.PlotPath, peak_bytes = outcome.PeakBytes, seconds = outcome.Elapsed.TotalSeconds, mean_step_seconds = outcome.MeanStepSeconds, weights = outcome.Weights, phases = PhaseJson(phases, outcome), adapter_parameters = outcome.Adapters.ParameterCount });
                else
                {
                    AnsiConsole.MarkupLine(r.Cancelled ? $"[yellow]interrupted at step {r.Step}/{r.TotalSteps}; checkpoint saved in {Markup.Escape(r.CheckpointDir ?? "")} (continue with --resume)[/]"
                        : $"trained {r.Step} steps: last loss {r.LastLoss:F4}{(r.LastEvalLoss is { } ev ? $", eval loss {ev:F4} (ppl {Math.Exp(ev):F2})" : "")}");
                    AnsiConsole.MarkupLine($"adapters: {Markup.Escape(outcome.AdapterDir)} ({outcome.Adapters.ParameterCount:N0} parameters); metrics: {Markup.Escape(outcome.MetricsPath)}; plot: {Markup.Escape(outcome.PlotPath ?? "-")}; peak memory {Cli.Bytes(outcome.PeakBytes)}; {Markup.Escape(outcome.Weights)}");
                }
                return r.Cancelled ? 130 : 0;
            }
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static Dictionary<string, double> PhaseJson(PhaseTimer phases, FineTuneOutcome outcome)
    {
        var d = new Dictionary<string, double>(phases.Seconds);
        if (outcome.Init is { } init) d["gradient_init"] = init.Elapsed.TotalSeconds;
        return d;
    }

    /// <summary>Passes status lines through and lets the caller note when one arrives.</summary>
    private sealed class StatusClock(IProgress<string>? inner, Action<string> onStatus) : IProgress<string>
    {
        public void Report(string value)
        {
            onStatus(value);
            inner?.Report(value);
        }
    }

    /// <summary>Passes progress through and notes when the first optimizer step has finished.</summary>
    private sealed class StepClock(IProgress<TrainProgress>? inner, Action onStep) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value)
        {
            onStep();
            inner?.Report(value);
        }
    }
}
