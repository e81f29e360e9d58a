// Runs tasks the harness's way: load the split's rows, build each document's requests, tokenize, score the
// log-likelihoods in one batched pass per task, then acc (argmax of the sums) and acc_norm (argmax of sum / the
// choice's length in characters), with the harness's standard error (sample std / sqrt(n)).
using Lors.Models.Llama;

namespace Lors.Models.Evaluation.Tasks;

/// <summary>Per-document outcome: Loglikelihoods[i] for choice i; Pred / PredNorm as np.argmax picks them (first maximum).</summary>
public sealed record DocResult(string Where, int Gold, double[] Loglikelihoods, int Pred, int PredNorm);

public sealed record TaskResult(string Task, int Docs, int Requests, long Tokens, double Acc, double? AccStderr,
    double? AccNorm, double? AccNormStderr, double Seconds, IReadOnlyList<DocResult> PerDoc);

public static class ZeroShotEvaluator
{
    /// <summary>The task's documents from dataDir/task.Name; a missing folder or file, or an empty split, names what was expected.</summary>
    public static List<TaskDoc> LoadDocs(ZeroShotTask task, string dataDir, int? limit = null)
    {
        var folder = Path.Combine(dataDir, task.Name);
        var files = TaskDataReader.FindSplitFiles(folder, task.Split);
        if (files.Count == 0)
            throw new FileNotFoundException($"task {task.Name}: no {task.Split} split found; expected {Path.Combine(folder, task.Split)}*.parquet " +
                $"or {Path.Combine(folder, task.Split)}.jsonl (the {task.Split} split of {task.Dataset})");
        var rows = TaskDataReader.ReadRows(files);
        if (rows.Count == 0)
            throw new TaskDataException($"task {task.Name}: the {task.Split} split is empty ({string.Join(", ", files)})");
        if (limit is { } n) rows = rows.Take(Math.Max(n, 0)).ToList();
        return rows.Select(task.Build).ToList();
    }

    public static TaskResult Evaluate(LlamaModel model, RequestEncoder encoder, ZeroShotTask task, IReadOnlyList<TaskDoc> docs,
        int batchTokens, Action<int, int>? progress = null, bool unbatched = false)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var requests = docs.SelectMany(d => d.Requests.Select(r => encoder.Encode(r.Context, r.Continuation))).ToList();
        var lls = unbatched ? LoglikelihoodScorer.ScoreUnbatched(model, requests)
            : LoglikelihoodScorer.Score(model, requests, batchTokens, progress);
        var perDoc = new List<DocResult>(docs.Count);
        int k = 0;
        foreach (var d in docs)
        {
            var ll = lls.AsSpan(k, d.Requests.Count).ToArray();
            k += d.Requests.Count;
            var norm = ll.Select((x, i) => x / ZeroShotTask.CharLength(d.Choices[i])).ToArray();
            perDoc.Add(new DocResult(d.Where, d.Gold, ll, ArgMax(ll), ArgMax(norm)));
        }
        var acc = perDoc.Select(r => r.Pred == r.Gold ? 1.0 : 0.0).ToList();
        var accNorm = perDoc.Select(r => r.PredNorm == r.Gold ? 1.0 : 0.0).ToList();
        long tokens = requests.Sum(r => (long)r.Context.Length + r.Continuation.Length);
        return new TaskResult(task.Name, docs.Count, requests.Count, tokens, acc.Average(), Stderr(acc),
            task.ReportsAccNorm ? accNorm.Average() : null, task.ReportsAccNorm ? Stderr(accNorm) : null, sw.Elapsed.TotalSeconds, perDoc);
    }

    /// <summary>numpy's argmax: the first maximum; a NaN wins (the first NaN).</summary>
    public static int ArgMax(IReadOnlyList<double> x)
    {
        int best = 0;
        for (int i = 0; i < x.Count; i++)
        {
            if (double.IsNaN(x[i])) return i;
            if (x[i] > x[best]) best = i;
        }
        return best;
    }

    /// <summary>The harness's mean_stderr: sample standard deviation (n - 1) over sqrt(n); null for fewer than 2.</summary>
    public static double? Stderr(IReadOnlyList<double> x)
    {
        if (x.Count < 2) return null;
        double mean = x.Average();
        double var = x.Sum(v => (v - mean) * (v - mean)) / (x.Count - 1);
        return Math.Sqrt(var / x.Count);
    }
}
