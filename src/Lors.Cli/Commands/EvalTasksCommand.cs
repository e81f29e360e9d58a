// `lors eval-tasks`: zero-shot accuracy on the commonsense tasks of lm-evaluation-harness 0.4 (BoolQ, RTE, HellaSwag,
// WinoGrande, ARC-e, ARC-c, OpenBookQA, PIQA) from local parquet / JSON lines files; the paper's table and JSON.
using System.ComponentModel;
using Lors.Models.Evaluation.Tasks;
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Lors.Tensors;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class EvalTasksCommand : Command<EvalTasksCommand.Settings>
{
    public const string AllTasks = "boolq,rte,hellaswag,winogrande,arc_easy,arc_challenge,openbookqa,piqa";

    public sealed class Settings : CommonSettings
    {
        [CommandOption("--model <DIR>")][Description("Hugging Face model folder (default: the embedded tiny model)")]
        public string? Model { get; init; }

        [CommandOption("--tasks <LIST>")][Description("Comma-separated tasks (default: " + AllTasks + ")")][DefaultValue(AllTasks)]
        public string Tasks { get; init; } = AllTasks;

        [CommandOption("--data <DIR>")][Description("Folder with one sub-folder per task holding its split as parquet or JSON lines (e.g. DIR/boolq/validation-00000-of-00001.parquet)")]
        public string? Data { get; init; }

        [CommandOption("--limit <N>")][Description("Evaluate only the first N documents of each task")]
        public int? Limit { get; init; }

        [CommandOption("--batch-tokens <N>")][Description("Tokens per forward pass, padding included (default 2048 on the CPU, 32768 on CUDA)")]
        public int? BatchTokens { get; init; }

        [CommandOption("--dtype <T>")][Description("Compute type: f32 or bf16 (default f32 on the CPU, bf16 on CUDA)")]
        public string? DType { get; init; }

        [CommandOption("--samples <FILE>")][Description("Also write each document's per-choice log-likelihoods and picks as JSON lines")]
        public string? Samples { get; init; }

        [CommandOption("--no-bos")][Description("Do not add the tokenizer's BOS (as harness releases before 0.4.5 did)")]
        public bool NoBos { get; init; }

        protected override void Check(OptionChecks c) => c
            .Required("--data", Data).NotEmpty("--data", Data).NotEmpty("--tasks", Tasks)
            .Positive("--limit", Limit).Positive("--batch-tokens", BatchTokens)
            .OneOf("--dtype", DType, "f32", "bf16");
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var modelDir = Cli.ResolveModel(s.Model);
        if (!Directory.Exists(s.Data)) throw new DirectoryNotFoundException($"--data: folder '{s.Data}' does not exist");
        var tasks = s.Tasks.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ZeroShotTask.Get).Distinct().ToList();
        if (tasks.Count == 0) throw new ArgumentException("--tasks: no task given");
        // Every task's data is read and checked before the model is loaded: bad input fails fast.
        var docs = tasks.Select(t => ZeroShotEvaluator.LoadDocs(t, s.Data!, s.Limit)).ToList();
        var tokenizer = Tokenizer.Load(modelDir);
        var device = s.Device;
        var dtype = s.DType switch { "f32" => DType.F32, "bf16" => DType.BF16, _ => device.IsCpu ? DType.F32 : DType.BF16 };
        using var model = LlamaModel.Load(modelDir, device, dtype);
        var encoder = new RequestEncoder(tokenizer, addBos: !s.NoBos);
        int batchTokens = s.BatchTokens ?? (device.IsCpu ? 2048 : 32768);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var results = new List<TaskResult>();
        for (int i = 0; i < tasks.Count; i++)
        {
            var task = tasks[i];
            string title = $"{task.Name} ({i + 1}/{tasks.Count})";
            results.Add(Cli.WithProgress(s.Json, title, report => ZeroShotEvaluator.Evaluate(model, encoder, task, docs[i], batchTokens,
                (done, total) => report(total == 0 ? 1 : (double)done / total, $"{title} {done:N0}/{total:N0} requests"))));
        }
        if (s.Samples is not null) WriteSamples(s.Samples, results);
        Print(results, modelDir, s, sw.Elapsed.TotalSeconds);
        return 0;
    }

    /// <summary>One JSON line per document: task, row, gold, picks and per-choice log-likelihoods (temporary file, renamed).</summary>
    private static void WriteSamples(string path, List<TaskResult> results)
    {
        var lines = results.SelectMany(r => r.PerDoc.Select((d, i) => System.Text.Json.JsonSerializer.Serialize(new
        {
            task = r.Task, doc = i, where = d.Where, gold = d.Gold, pred = d.Pred, pred_norm = d.PredNorm, loglikelihoods = d.Loglikelihoods,
        })));
        Lors.Models.Formats.AtomicFile.WriteText(path, string.Join("\n", lines) + "\n");
    }

    /// <summary>Mean over tasks of acc, and of acc_norm where the harness reports it (acc elsewhere).</summary>
    public static (double acc, double accNormOrAcc) Means(IReadOnlyList<TaskResult> r) =>
        (r.Average(x => x.Acc), r.Average(x => x.AccNorm ?? x.Acc));

    private static void Print(List<TaskResult> results, string modelDir, Settings s, double seconds)
    {
        var (meanAcc, meanNorm) = Means(results);
        if (s.Json)
        {
            Cli.WriteJson(new
            {
                model = modelDir, data = s.Data, bos = !s.NoBos, limit = s.Limit, seconds,
                tasks = results.ToDictionary(r => r.Task, r => new { docs = r.Docs, requests = r.Requests, tokens = r.Tokens, acc = r.Acc, acc_stderr = r.AccStderr, acc_norm = r.AccNorm, acc_norm_stderr = r.AccNormStderr, seconds = r.Seconds }),
                mean_acc = meanAcc, mean_acc_norm_or_acc = meanNorm,
            });
            return;
        }
        // The paper's layout: each task, then the mean (acc everywhere; acc_norm where the harness reports it).
        var t = new Table().Title($"[bold]zero-shot accuracy (%), {Markup.Escape(Path.GetFileName(Path.GetFullPath(modelDir)))}[/]")
            .AddColumn("task").AddColumn(new TableColumn("docs").RightAligned()).AddColumn(new TableColumn("acc").RightAligned())
            .AddColumn(new TableColumn("acc_norm").RightAligned()).AddColumn(new TableColumn("seconds").RightAligned());
        foreach (var r in results)
            t.AddRow(r.Task, r.Docs.ToString("N0"), $"{Pct(r.Acc)} ± {Pct(r.AccStderr ?? double.NaN)}",
                r.AccNorm is { } n ? $"{Pct(n)} ± {Pct(r.AccNormStderr ?? double.NaN)}" : "-", r.Seconds.ToString("F1"));
        t.AddEmptyRow();
        t.AddRow("[bold]mean[/]", "", $"[bold]{Pct(meanAcc)}[/]", $"[bold]{Pct(meanNorm)}[/]", "");
        AnsiConsole.Write(t);
        long tokens = results.Sum(r => r.Tokens);
        AnsiConsole.MarkupLine($"{results.Sum(r => r.Requests):N0} requests, {tokens:N0} tokens in {seconds:F1} s; BOS {(s.NoBos ? "left out" : "as the tokenizer adds it")}; the acc_norm mean takes acc where a task has no acc_norm");
    }

    private static string Pct(double x) => double.IsNaN(x) ? "?" : (100 * x).ToString("F2");
}
