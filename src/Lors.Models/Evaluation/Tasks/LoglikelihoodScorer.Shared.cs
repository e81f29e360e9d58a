// Shared-context scoring: the requests of one context (HellaSwag's 4 endings, ARC's 3-5 answers) compute the context
// once. Contexts of equal length L are prefilled together as [G, L] into a KV cache (no padding needed); the
// last context position predicts every continuation's first token; then the cache rows are gathered, one per request
// ([R, Hkv, MaxT, D]), and the continuations minus their last token run as [R, m] on top, right-padded (a padded
// position only follows the scored ones). Exact: the same tokens at the same positions as the harness's
// context + continuation input; only the work differs.
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Models.Evaluation.Tasks;

public static partial class LoglikelihoodScorer
{
    /// <summary>Requests (of which) with identical context tokens, for contexts with at least two; none truncated.</summary>
    private static List<(int[] context, List<int> requests)> ContextGroups(IReadOnlyList<LoglikelihoodRequest> requests, List<int> which, int maxLength)
    {
        var byContext = new Dictionary<int[], List<int>>(SequenceComparer.Instance);
        foreach (int i in which)
        {
            var r = requests[i];
            if (r.Context.Length == 0 || r.Context.Length + r.Continuation.Length - 1 > maxLength) continue; // truncated: rows path
            if (!byContext.TryGetValue(r.Context, out var list)) byContext[r.Context] = list = [];
            list.Add(i);
        }
        return byContext.Where(p => p.Value.Count > 1).Select(p => (p.Key, p.Value)).ToList();
    }

    private static void ScoreShared(LlamaModel model, IReadOnlyList<LoglikelihoodRequest> requests,
        List<(int[] context, List<int> requests)> groups, int batchTokens, double[] result, Action<int> advance, ScoreStats stats)
    {
        foreach (var bucket in groups.GroupBy(g => g.context.Length).OrderByDescending(b => b.Key))
        {
            int l = bucket.Key;
            var contexts = bucket.ToList();
            for (int start = 0; start < contexts.Count;)
            {
                // A chunk of contexts whose cache, L + the longest continuation per row, stays within the budget.
                int g = 0, m = 0;
                while (start + g < contexts.Count)
                {
                    int mg = Math.Max(m, contexts[start + g].requests.Max(r => requests[r].Continuation.Length) - 1);
                    if (g > 0 && (g + 1) * (l + mg) > batchTokens) break;
                    (g, m) = (g + 1, mg);
                }
                ScoreChunk(model, requests, contexts.GetRange(start, g), l, m, batchTokens, result, stats);
                advance(contexts.Skip(start).Take(g).Sum(c => c.requests.Count));
                start += g;
            }
        }
    }

    /// <summary>One chunk of G contexts of length l; m = the longest continuation minus one (0: one-token answers only).</summary>
    private static void ScoreChunk(LlamaModel model, IReadOnlyList<LoglikelihoodRequest> requests,
        List<(int[] context, List<int> requests)> chunk, int l, int m, int batchTokens, double[] result, ScoreStats stats)
    {
        int g = chunk.Count;
        using var scope = TensorScope.Begin();
        using var cache = new KvCache(model, g, l + m);
        var ids = new int[g * l];
        for (int i = 0; i < g; i++) chunk[i].context.CopyTo(ids, i * l);
        var hidden = model.Hidden(Tensor.FromArray(ids, [g, l], model.Device), cache).Data; // [G, L, C]
        // The last context position predicts each request's first continuation token.
        List<int> gather = [], targets = [], owner = [];
        for (int i = 0; i < g; i++)
            foreach (int r in chunk[i].requests)
            {
                gather.Add(i * l + l - 1);
                targets.Add(requests[r].Continuation[0]);
                owner.Add(r);
            }
        stats.Forwards++;
        stats.ForwardTokens += (long)g * l;
        stats.ScoredTokens += gather.Count;
        ScorePositions(model, hidden.Reshape(g * l, hidden.Shape[2]), gather, targets, owner, result);
        hidden.Dispose();

        // The rest of each continuation, on a copy of its context's cache row; longest first, within the budget.
        var rest = chunk.SelectMany((c, i) => c.requests.Select(r => (row: i, request: r)))
            .Where(x => requests[x.request].Continuation.Length > 1)
            .OrderByDescending(x => requests[x.request].Continuation.Length).ToList();
        for (int start = 0; start < rest.Count;)
        {
            int mb = requests[rest[start].request].Continuation.Length - 1;
            int b = Math.Clamp(batchTokens / (l + mb), 1, rest.Count - start);
            var part = rest.GetRange(start, b);
            start += b;
            using var sub = cache.Gather(part.Select(x => x.row).ToArray());
            using var partScope = TensorScope.Begin();
            var cont = new int[b * mb]; // right-padded with id 0
            gather.Clear(); targets.Clear(); owner.Clear();
            for (int i = 0; i < b; i++)
            {
                var c = requests[part[i].request].Continuation;
                c.AsSpan(0, c.Length - 1).CopyTo(cont.AsSpan(i * mb));
                for (int j = 0; j < c.Length - 1; j++)
                {
                    gather.Add(i * mb + j); // position j of the continuation predicts its token j + 1
                    targets.Add(c[j + 1]);
                    owner.Add(part[i].request);
                }
            }
            var h = model.Hidden(Tensor.FromArray(cont, [b, mb], model.Device), sub).Data; // [b, mb, C], positions l..l+mb-1
            stats.Forwards++;
            stats.ForwardTokens += (long)b * mb;
            stats.ScoredTokens += gather.Count;
            ScorePositions(model, h.Reshape(b * mb, h.Shape[2]), gather, targets, owner, result);
        }
    }
}
