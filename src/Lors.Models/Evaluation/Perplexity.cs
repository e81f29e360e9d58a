// Perplexity by the fixtures' protocol: the text's token stream without BOS, windows of T+1 tokens at stride T
// (the tail dropped), loss = mean next-token cross-entropy over all T predictions of all windows, ppl = exp(loss).
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Models.Evaluation;

public sealed record PerplexityResult(double Perplexity, double Loss, int Windows, long PredictedTokens, long StreamTokens, TimeSpan Elapsed)
{
    public double TokensPerSecond => PredictedTokens / Math.Max(Elapsed.TotalSeconds, 1e-9);
}

public static class Perplexity
{
    public static PerplexityResult Evaluate(LlamaModel model, IReadOnlyList<int> stream, int seqLen = 256, int batch = 4,
        int maxWindows = int.MaxValue, Action<int, int>? progress = null)
    {
        if (seqLen < 1) throw new ArgumentOutOfRangeException(nameof(seqLen), $"seq-len must be positive, got {seqLen}");
        if (seqLen + 1 > model.Config.MaxPositionEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(seqLen), $"seq-len {seqLen} + 1 exceeds the model's max_position_embeddings {model.Config.MaxPositionEmbeddings}");
        int windows = Math.Min(stream.Count < 1 ? 0 : (stream.Count - 1) / seqLen, maxWindows);
        if (windows == 0) throw new ArgumentException($"the text has {stream.Count} tokens: too few for one window of {seqLen + 1}");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        double totalLoss = 0;
        using var noGrad = GradMode.NoGrad();
        for (int w0 = 0; w0 < windows; w0 += batch)
        {
            int b = Math.Min(batch, windows - w0);
            var ids = new int[b * (seqLen + 1)];
            for (int i = 0; i < b; i++)
                for (int t = 0; t <= seqLen; t++) ids[i * (seqLen + 1) + t] = stream[(w0 + i) * seqLen + t];
            using var scope = TensorScope.Begin();
            var input = Tensor.FromArray(ids, [b, seqLen + 1], model.Device);
            var loss = model.Loss(input);
            totalLoss += loss.Data.Item() * b * seqLen;
            progress?.Invoke(w0 + b, windows);
        }
        long predicted = (long)windows * seqLen;
        double mean = totalLoss / predicted;
        return new PerplexityResult(Math.Exp(mean), mean, windows, predicted, stream.Count, sw.Elapsed);
    }
}
