// `lors prune`: magnitude, Wanda or SparseGPT at an unstructured ratio or an N:M pattern, calibrated layer by layer
// on a text file; progress per layer, a per-layer sparsity table, and a Hugging Face folder written atomically.
using System.ComponentModel;
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Lors.Tensors;
using Lors.Train.Pruning;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class PruneCommand : Command<PruneCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--model <DIR>")][Description("Hugging Face model folder (default: the embedded tiny model)")]
        public string? Model { get; init; }
        [CommandOption("--method <METHOD>")][Description("magnitude | wanda | sparsegpt (default sparsegpt)")][DefaultValue("sparsegpt")]
        public string Method { get; init; } = "sparsegpt";
        [CommandOption("--sparsity <RATIO>")][Description("Unstructured sparsity in (0, 1) (default 0.5 unless --pattern)")]
        public double? Sparsity { get; init; }
        [CommandOption("--pattern <N:M>")][Description("N:M sparsity along the input dimension, e.g. 2:4 or 4:8")]
        public string? Pattern { get; init; }
        [CommandOption("--calib-text <FILE>")][Description("Calibration text (default: the embedded brown.train.txt)")]
        public string? CalibText { get; init; }
        [CommandOption("--calib-samples <N>")][DefaultValue(128)] public int CalibSamples { get; init; } = 128;
        [CommandOption("--seq-len <T>")][Description("Calibration sample length (default 2048, clipped to the model's maximum)")][DefaultValue(2048)]
        public int SeqLen { get; init; } = 2048;
        [CommandOption("--seed <S>")][DefaultValue(0UL)] public ulong Seed { get; init; }
        [CommandOption("--compute-dtype <DTYPE>")][Description("f32 | bf16: weights and calibration activations in memory while pruning (default f32; bf16 halves memory and runs the calibration forwards on tensor cores)")][DefaultValue("f32")]
        public string ComputeDType { get; init; } = "f32";
        [CommandOption("--out <DIR>")][Description("Output folder")] public string? Out { get; init; }
        [CommandOption("--force")][Description("Replace an existing output folder")] public bool Force { get; init; }

        protected override void Check(OptionChecks c) => c
            .Required("--out", Out).NotEmpty("--out", Out).NotEmpty("--model", Model).NotEmpty("--calib-text", CalibText)
            .Check(Sparsity is null || Pattern is null, "give either --sparsity or --pattern, not both")
            .Range("--sparsity", Sparsity ?? 0.5, 0, 1, loOpen: true, hiOpen: true)
            .OneOf("--method", Method, "magnitude", "wanda", "sparsegpt")
            .Parses("--pattern", Pattern, p => SparsityPattern.Parse(p))
            .Positive("--calib-samples", CalibSamples).Positive("--seq-len", SeqLen)
            .OneOf("--compute-dtype", ComputeDType, "f32", "bf16");
    }

    /// <summary>LORS_PRUNE_ENGINE=host|device|auto picks the pruning engine (default auto: the device path on CUDA).</summary>
    private static PruneEngine EngineFromEnvironment()
    {
        var e = Environment.GetEnvironmentVariable("LORS_PRUNE_ENGINE");
        if (string.IsNullOrWhiteSpace(e)) return PruneEngine.Auto;
        return Enum.TryParse<PruneEngine>(e.Trim(), ignoreCase: true, out var engine)
            ? engine
            : throw new ArgumentException($"LORS_PRUNE_ENGINE must be host, device or auto, got '{e}'");
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var dir = Cli.ResolveModel(s.Model);
        var method = PruneOptions.ParseMethod(s.Method);
        var pattern = s.Pattern is not null ? SparsityPattern.Parse(s.Pattern) : new SparsityPattern.Unstructured(s.Sparsity ?? 0.5);
        var outDir = Path.GetFullPath(s.Out!);
        if (Directory.Exists(outDir) && !s.Force) throw new IOException($"--out: folder '{s.Out}' already exists (use --force to replace it)");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var tok = Tokenizer.Load(dir);
        using var model = LlamaModel.Load(dir, s.Device, s.ComputeDType.ToLowerInvariant() == "bf16" ? DType.BF16 : DType.F32);
        var load = clock.Elapsed;
        foreach (var (_, _, linear) in model.Linears()) pattern.Validate(linear.InFeatures, linear.Name);
        IReadOnlyList<int[]>? calibration = null;
        int seqLen = Math.Min(s.SeqLen, model.Config.MaxPositionEmbeddings);
        if (method != PruneMethod.Magnitude)
            calibration = CalibrationData.FromText(tok, s.CalibText ?? Cli.EmbeddedText("train"), s.CalibSamples, seqLen, s.Seed);
        var result = Cli.WithProgress(s.Json, $"prune {method} {pattern}", report =>
            Pruner.Prune(model, new PruneOptions { Method = method, Pattern = pattern, Engine = EngineFromEnvironment() }, calibration,
                new SyncProgress<PruneProgress>(p => report((p.Layer + 0.5) / p.LayerCount, $"prune {method} {pattern}: {p}"))));
        clock.Restart();
        var check = SparsityCheck.Check(model, pattern);
        if (!check.Ok) throw new InvalidOperationException($"pruning left the pattern violated: {check}");
        var checkTime = clock.Elapsed;
        clock.Restart();
        model.SaveFolder(outDir, dir, s.Force);
        var save = clock.Elapsed;
        // Where the time went, for the 7B scripts: load, embedding + layer forwards, scores/masks or Hessian + OBS, check, save.
        var phases = new
        {
            load_s = load.TotalSeconds, embed_s = result.Embed.TotalSeconds, calibration_forward_s = result.CalibrationForward.TotalSeconds,
            solve_s = result.Solve.TotalSeconds, check_s = checkTime.TotalSeconds, save_s = save.TotalSeconds,
        };
        string engine = $"{result.Engine.ToString().ToLowerInvariant()} on {model.Device}";
        if (s.Json)
        {
            Cli.WriteJson(new
            {
                out_dir = outDir, method = method.ToString(), pattern = pattern.ToString(), sparsity = result.Sparsity, calibration_tokens = result.CalibrationTokens,
                seconds = result.Elapsed.TotalSeconds, engine, phases,
                layers = result.Layers.Select(l => new { l.Layer, l.Sparsity, seconds = l.Elapsed.TotalSeconds, capture_s = l.Capture.TotalSeconds, solve_s = l.Solve.TotalSeconds, propagate_s = l.Propagate.TotalSeconds }),
            });
            return 0;
        }
        var t = new Table().Title($"{method} {pattern}").AddColumn("layer");
        foreach (var p in Projections.All) t.AddColumn(p.Short());
        t.AddColumn("time");
        foreach (var l in result.Layers)
        {
            var row = new List<string> { l.Layer.ToString() };
            foreach (var p in Projections.All) row.Add($"{result.Matrices.First(m => m.Layer == l.Layer && m.Projection == p).Sparsity:P1}");
            row.Add($"{l.Elapsed.TotalSeconds:F1} s");
            t.AddRow(row.ToArray());
        }
        AnsiConsole.Write(t);
        AnsiConsole.MarkupLine($"{Markup.Escape(result.ToString())}; pattern check: [green]ok[/]; written to {Markup.Escape(outDir)}");
        AnsiConsole.MarkupLine(Markup.Escape($"phases ({engine}): load {phases.load_s:F1} s, embed {phases.embed_s:F1} s, calibration forward {phases.calibration_forward_s:F1} s, " +
            $"{(method == PruneMethod.SparseGpt ? "Hessian factors + OBS" : "scores + masks")} {phases.solve_s:F1} s, check {phases.check_s:F1} s, save {phases.save_s:F1} s"));
        return 0;
    }
}
