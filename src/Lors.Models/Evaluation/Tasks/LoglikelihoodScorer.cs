// Sums log p(continuation | context) for many requests. Requests sharing a context go through the shared-prefix path
// (LoglikelihoodScorer.Shared.cs); the rest as rows: requests with the same input tokens share one row, rows sorted
// longest first, packed into [B, T] batches up to a token budget and right-padded. With causal attention a position
// never sees later ones, so right padding changes no scored position and needs no mask. Only the scored positions'
// hidden states [N, C] go through the LM head, and a fused cross-entropy gives -log p per token.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Models.Evaluation.Tasks;

/// <summary>Work counters of one Score call: forward passes and the tokens they ran (padding included).</summary>
public sealed class ScoreStats
{
    public int Forwards { get; internal set; }
    public long ForwardTokens { get; internal set; }
    public long ScoredTokens { get; internal set; }
}

public static partial class LoglikelihoodScorer
{
    /// <summary>The harness's model input: (context + continuation)[-(maxLength+1):][:-1]; its last k positions predict the continuation.</summary>
    public static (int[] input, int[] targets) Input(LoglikelihoodRequest r, int maxLength)
    {
        if (r.Continuation.Length > maxLength)
            throw new ArgumentException($"a continuation of {r.Continuation.Length} tokens exceeds the model's {maxLength} positions");
        var whole = r.Context.Concat(r.Continuation).ToArray();
        int start = Math.Max(0, whole.Length - (maxLength + 1));
        return (whole[start..^1], r.Continuation);
    }

    /// <summary>
    /// Log-likelihood of each request's continuation (0 for an empty one), batched. With shareContexts, requests
    /// with the same context tokens compute that context once (a cached prefix, see the Shared file).
    /// </summary>
    public static double[] Score(LlamaModel model, IReadOnlyList<LoglikelihoodRequest> requests, int batchTokens = 4096,
        Action<int, int>? progress = null, bool shareContexts = true, ScoreStats? stats = null)
    {
        stats ??= new ScoreStats();
        if (batchTokens < 1) throw new ArgumentOutOfRangeException(nameof(batchTokens), $"batch-tokens must be positive, got {batchTokens}");
        int maxLength = model.Config.MaxPositionEmbeddings;
        var result = new double[requests.Count];
        int done = requests.Count(r => r.Continuation.Length == 0);
        void Advance(int n) { done += n; progress?.Invoke(done, requests.Count); }
        var rest = Enumerable.Range(0, requests.Count).Where(i => requests[i].Continuation.Length > 0).ToList();
        using var noGrad = GradMode.NoGrad();
        if (shareContexts)
        {
            var groups = ContextGroups(requests, rest, maxLength);
            ScoreShared(model, requests, groups, batchTokens, result, Advance, stats);
            var shared = groups.SelectMany(g => g.requests).ToHashSet();
            rest = rest.Where(i => !shared.Contains(i)).ToList();
        }
        ScoreRows(model, requests, rest, batchTokens, result, Advance, stats);
        progress?.Invoke(requests.Count, requests.Count);
        return result;
    }

    /// <summary>Each distinct input is one row; rows longest first, packed into right-padded [B, T] batches.</summary>
    private static void ScoreRows(LlamaModel model, IReadOnlyList<LoglikelihoodRequest> requests, List<int> which, int batchTokens,
        double[] result, Action<int> advance, ScoreStats stats)
    {
        int maxLength = model.Config.MaxPositionEmbeddings;
        var rowOf = new Dictionary<int[], int>(SequenceComparer.Instance);
        var rows = new List<(int[] input, List<int> requests)>();
        foreach (int i in which)
        {
            var (input, _) = Input(requests[i], maxLength);
            if (!rowOf.TryGetValue(input, out int row)) { rowOf[input] = row = rows.Count; rows.Add((input, [])); }
            rows[row].requests.Add(i);
        }
        var order = Enumerable.Range(0, rows.Count).OrderByDescending(r => rows[r].input.Length).ThenBy(r => r).ToArray();
        for (int start = 0; start < order.Length;)
        {
            int t = rows[order[start]].input.Length; // the longest row of the batch (sorted)
            int b = Math.Clamp(batchTokens / t, 1, order.Length - start);
            ScoreBatch(model, requests, rows, order.AsSpan(start, b), t, result, stats);
            int n = 0;
            for (int i = start; i < start + b; i++) n += rows[order[i]].requests.Count;
            start += b;
            advance(n);
        }
    }

    private static void ScoreBatch(LlamaModel model, IReadOnlyList<LoglikelihoodRequest> requests,
        List<(int[] input, List<int> requests)> rows, ReadOnlySpan<int> batch, int t, double[] result, ScoreStats stats)
    {
        int b = batch.Length, maxLength = model.Config.MaxPositionEmbeddings;
        var ids = new int[b * t]; // right padding with id 0: padded positions come after every scored one
        var gather = new List<int>();   // flat positions i*T + p whose outputs are scored
        var targets = new List<int>();
        var owner = new List<int>();    // the request each scored position belongs to
        for (int i = 0; i < b; i++)
        {
            var (input, reqs) = rows[batch[i]];
            input.CopyTo(ids, i * t);
            foreach (int r in reqs)
            {
                var cont = requests[r].Continuation;
                int first = input.Length - cont.Length;
                for (int j = 0; j < cont.Length; j++)
                {
                    gather.Add(i * t + first + j);
                    targets.Add(cont[j]);
                    owner.Add(r);
                }
            }
        }
        using var scope = TensorScope.Begin();
        var input2 = Tensor.FromArray(ids, [b, t], model.Device);
        var hidden = model.Hidden(input2).Data;                       // [B, T, C]
        stats.Forwards++;
        stats.ForwardTokens += (long)b * t;
        stats.ScoredTokens += gather.Count;
        ScorePositions(model, hidden.Reshape(b * t, hidden.Shape[2]), gather, targets, owner, result);
    }

    /// <summary>
    /// result[owner[n]] += log p(targets[n]) from hidden row gather[n] of flat [rows, C]: only the scored rows go
    /// through the LM head ([N, C] x [V, C]^T), and the fused cross-entropy gives -log p per row.
    /// </summary>
    private static void ScorePositions(LlamaModel model, Tensor flat, List<int> gather, List<int> targets, List<int> owner, double[] result)
    {
        if (gather.Count == 0) return;
        var picked = Ops.Embedding(Tensor.FromArray(gather.ToArray(), [gather.Count], model.Device), flat); // [N, C]: a row gather
        var logits = F.Linear(new Variable(picked), model.LmHead).Data; // [N, V]
        var (losses, _) = Ops.CrossEntropy(logits, Tensor.FromArray(targets.ToArray(), [targets.Count], model.Device));
        var nll = losses.ToFloatArray();
        for (int n = 0; n < nll.Length; n++) result[owner[n]] -= nll[n];
    }

    /// <summary>
    /// The slow reference: one request at a time through the model's plain Forward (all logits), log-softmax in double
    /// on the host. No padding, no sharing, no gather.
    /// </summary>
    public static double[] ScoreUnbatched(LlamaModel model, IReadOnlyList<LoglikelihoodRequest> requests)
    {
        var result = new double[requests.Count];
        using var noGrad = GradMode.NoGrad();
        for (int i = 0; i < requests.Count; i++)
        {
            if (requests[i].Continuation.Length == 0) continue;
            var (input, cont) = Input(requests[i], model.Config.MaxPositionEmbeddings);
            using var scope = TensorScope.Begin();
            var logits = model.Forward(Tensor.FromArray(input, [1, input.Length], model.Device)).Data.ToFloatArray(); // [1, T, V]
            int v = model.Config.VocabSize, first = input.Length - cont.Length;
            for (int j = 0; j < cont.Length; j++)
            {
                var row = logits.AsSpan((first + j) * v, v);
                double max = double.NegativeInfinity;
                foreach (var x in row) max = Math.Max(max, x);
                double sum = 0;
                foreach (var x in row) sum += Math.Exp(x - max);
                result[i] += row[cont[j]] - max - Math.Log(sum);
            }
        }
        return result;
    }

    private sealed class SequenceComparer : IEqualityComparer<int[]>
    {
        public static readonly SequenceComparer Instance = new();
        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(int[] a)
        {
            var h = new HashCode();
            h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
            return h.ToHashCode();
        }
    }
}
