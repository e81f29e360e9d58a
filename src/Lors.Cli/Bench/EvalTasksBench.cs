// `lors bench eval-tasks`: zero-shot scoring throughput on synthetic HellaSwag-shaped items (the real validation set,
// 10,042 items x 4 endings, is not available offline) at a real model shape, random init. Lengths in tokens follow a
// deterministic formula shared with bench/gpu/zeroshot_anchor.py: a third ActivityNet-like (context 25-60, endings
// 12-30), two thirds WikiHow-like (context 50-150, endings 25-70); about 81 + 4 x 39 tokens per item.
using System.Diagnostics;
using Lors.Cli.Commands;
using Lors.Models.Evaluation.Tasks;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Cli.Bench;

public sealed record EvalTasksBenchResult(string Shape, string Device, int Items, int Choices, int Requests, bool ShareContexts, int BatchTokens,
    double Seconds, double ItemsPerSecond, long RequestTokens, long ForwardTokens, int Forwards, double ForwardTokensPerSecond, long PeakBytes, double Checksum);

public static class EvalTasksBench
{
    /// <summary>Item d's context length, and ending e's (tokens): the formula bench/gpu/zeroshot_anchor.py repeats.</summary>
    public static (int context, int ending) Lengths(int d, int e)
    {
        bool activityNet = d % 3 == 0;
        int ctx = activityNet ? 25 + (d * 7919 + 13) % 36 : 50 + (d * 7919 + 13) % 101;
        int end = activityNet ? 12 + (d * 104729 + e * 7 + 3) % 19 : 25 + (d * 104729 + e * 7 + 3) % 46;
        return (ctx, end);
    }

    public static int Token(int d, int p, int vocab) => 3 + (int)(((long)d * 31 + (long)p * 17) % (vocab - 3));

    /// <summary>Item d's requests: one BOS-led context, each ending a continuation of distinct tokens.</summary>
    public static IEnumerable<LoglikelihoodRequest> Requests(int items, int choices, int vocab)
    {
        for (int d = 0; d < items; d++)
        {
            var ctx = new int[Lengths(d, 0).context];
            ctx[0] = 1;
            for (int p = 1; p < ctx.Length; p++) ctx[p] = Token(d, p, vocab);
            for (int e = 0; e < choices; e++)
            {
                var cont = new int[Lengths(d, e).ending];
                for (int p = 0; p < cont.Length; p++) cont[p] = Token(d, 1000 + e * 100 + p, vocab);
                yield return new LoglikelihoodRequest(ctx, cont);
            }
        }
    }

    public static EvalTasksBenchResult Run(BenchCommand.Settings s)
    {
        var device = s.Device;
        var config = TrainBench.Shape(s.Shape, s.Layers);
        var backend = Backends.Get(device);
        using var model = LlamaModel.CreateRandom(config, 1, device, device.IsCpu ? DType.F32 : DType.BF16);
        int batchTokens = s.BatchTokens ?? (device.IsCpu ? 2048 : 32768);
        var requests = Requests(s.Items, s.Choices, config.VocabSize).ToList();
        // Warm-up (kernel compilation, allocator) on the first items, then the timed pass over all of them.
        LoglikelihoodScorer.Score(model, requests.Take(Math.Min(requests.Count, 16 * s.Choices)).ToList(), batchTokens, shareContexts: !s.NoShare);
        Lors.Conformance.BackendConformance.Synchronize(device);
        backend.Memory.ResetPeak();
        var stats = new ScoreStats();
        var sw = Stopwatch.StartNew();
        var lls = Cli.WithProgress(s.Json, $"eval-tasks bench {s.Shape}", report =>
            LoglikelihoodScorer.Score(model, requests, batchTokens, (done, total) => report((double)done / total, $"{done:N0}/{total:N0} requests"), !s.NoShare, stats));
        Lors.Conformance.BackendConformance.Synchronize(device);
        double seconds = sw.Elapsed.TotalSeconds;
        long requestTokens = requests.Sum(r => (long)r.Context.Length + r.Continuation.Length);
        return new EvalTasksBenchResult(s.Shape, backend.Description, s.Items, s.Choices, requests.Count, !s.NoShare, batchTokens, seconds,
            s.Items / seconds, requestTokens, stats.ForwardTokens, stats.Forwards, stats.ForwardTokens / seconds, backend.Memory.PeakBytes, lls.Sum());
    }
}
