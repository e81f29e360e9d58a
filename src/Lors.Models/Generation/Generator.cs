// Text generation with a KV cache: greedy, temperature, top-k and top-p sampling; seeded and reproducible.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Tensors.Cpu;

namespace Lors.Models.Generation;

public sealed record SamplingOptions
{
    public int MaxNewTokens { get; init; } = 64;
    /// <summary>0 (or below) means greedy decoding.</summary>
    public float Temperature { get; init; } = 0f;
    /// <summary>Keep the k most likely tokens (0 = all).</summary>
    public int TopK { get; init; }
    /// <summary>Keep the smallest set of tokens whose probability reaches p (1 = all).</summary>
    public float TopP { get; init; } = 1f;
    public ulong Seed { get; init; }
    /// <summary>Generation stops after emitting one of these (typically the EOS ids).</summary>
    public IReadOnlyCollection<int> StopTokens { get; init; } = [];
    /// <summary>Recompute the whole prefix each step instead of using the cache (slow; for checking the cache).</summary>
    public bool UseCache { get; init; } = true;
    /// <summary>Only ids below this are ever chosen (the tokenizer's size when the model's vocabulary is padded
    /// beyond it, as is common); null allows every id of the model.</summary>
    public int? VocabLimit { get; init; }

    public bool IsGreedy => Temperature <= 0f;
}

public static class Generator
{
    /// <summary>Yields new token ids one at a time (the prompt is not repeated).</summary>
    public static IEnumerable<int> Generate(LlamaModel model, IReadOnlyList<int> prompt, SamplingOptions options)
    {
        if (prompt.Count == 0) throw new ArgumentException("Generate: the prompt has no tokens (add a BOS token)");
        foreach (var id in prompt)
            if (id < 0 || id >= model.Config.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(prompt), $"Generate: token id {id} is outside the vocabulary of {model.Config.VocabSize}");
        int total = Math.Min(prompt.Count + options.MaxNewTokens, model.Config.MaxPositionEmbeddings);
        var tokens = new List<int>(prompt);
        using var cache = options.UseCache ? new KvCache(model, 1, total) : null;
        using var noGrad = GradMode.NoGrad();
        int step = 0;
        while (tokens.Count < total)
        {
            float[] logits;
            using (var scope = TensorScope.Begin())
            {
                var input = cache is null ? tokens : tokens.Skip(cache.Length).ToList();
                using var ids = Tensor.FromArray(input.ToArray(), [1, input.Count], model.Device);
                var hidden = model.Hidden(ids, cache);
                var last = F.Rows(F.Reshape(hidden, -1, hidden.Shape[^1]), input.Count - 1, 1);
                logits = F.Linear(last, model.LmHead).Data.ToFloatArray();
            }
            // Ids the tokenizer cannot decode (a padded model vocabulary) are masked out, not fatal.
            if (options.VocabLimit is int limit && limit > 0 && limit < logits.Length) logits = logits[..limit];
            int next = Pick(logits, options, step++);
            tokens.Add(next);
            yield return next;
            if (options.StopTokens.Contains(next)) yield break;
        }
    }

    /// <summary>Chooses the next token from one row of logits.</summary>
    public static int Pick(float[] logits, SamplingOptions o, int step)
    {
        if (o.IsGreedy) return System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits);
        int n = logits.Length;
        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (a, b) => logits[b].CompareTo(logits[a]));
        int keep = o.TopK > 0 ? Math.Min(o.TopK, n) : n;
        double max = logits[order[0]] / o.Temperature;
        var p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) sum += p[i] = Math.Exp(logits[order[i]] / o.Temperature - max);
        if (o.TopP < 1f)
        {
            double acc = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++)
            {
                acc += p[i] / sum;
                if (acc >= o.TopP) { cut = i + 1; break; }
            }
            keep = cut;
            sum = p.Take(keep).Sum();
        }
        double u = Rng.Uniform(o.Seed, step) * sum;
        for (int i = 0; i < keep; i++)
        {
            u -= p[i];
            if (u <= 0) return order[i];
        }
        return order[keep - 1];
    }
}
