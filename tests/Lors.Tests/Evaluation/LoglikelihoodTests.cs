// Tokenization of (context, continuation) as the harness's _encode_pair, and the batched scorer (sorted, right-padded,
// shared rows) against the unbatched reference through the model's plain Forward, on the embedded tiny model.
using Lors.Models.Evaluation.Tasks;
using Lors.Models.Llama;
using Lors.Models.Tokenization;

namespace Lors.Tests.Evaluation;

public sealed class LoglikelihoodTests
{
    private static readonly Tokenizer Tok = Tokenizer.Load(RepoPaths.TinyModel);

    [Fact]
    public void EncodePairSplitsTheWholeEncodingAtTheContextsLength()
    {
        var enc = new RequestEncoder(Tok);
        var r = enc.Encode("Question: is it cold?\nAnswer:", " yes");
        Assert.Equal(Tok.BosTokenId, r.Context[0]); // the tokenizer's own default adds BOS
        Assert.Equal(Tok.Encode("Question: is it cold?\nAnswer:"), r.Context);
        Assert.Equal(Tok.Encode("Question: is it cold?\nAnswer: yes"), r.Context.Concat(r.Continuation));
        Assert.NotEmpty(r.Continuation);
    }

    [Fact]
    public void TrailingContextSpacesMoveToTheContinuation()
    {
        var enc = new RequestEncoder(Tok);
        var a = enc.Encode("The jury said ", "that");
        var b = enc.Encode("The jury said", " that");
        Assert.Equal(b.Context, a.Context);
        Assert.Equal(b.Continuation, a.Continuation);
    }

    [Fact]
    public void NoBosLeavesTheSpecialTokensOut()
    {
        var r = new RequestEncoder(Tok, addBos: false).Encode("The jury said", " that");
        Assert.Equal(Tok.Encode("The jury said", addSpecialTokens: false), r.Context);
        Assert.NotEqual(Tok.BosTokenId, r.Context[0]);
    }

    [Fact]
    public void EmptyContextIsConditionedOnThePrefixToken()
    {
        var enc = new RequestEncoder(Tok);
        var r = enc.Encode("", " the jury");
        Assert.Equal([Tok.BosTokenId!.Value], r.Context);
        Assert.Equal(Tok.Encode(" the jury", addSpecialTokens: false), r.Continuation);
    }

    [Fact]
    public void ATextStartingWithTheBosTextGetsNoSecondBos()
    {
        var enc = new RequestEncoder(Tok);
        var ids = enc.TokEncode("<|begin_of_text|>The jury");
        Assert.Equal(1, ids.Count(i => i == Tok.BosTokenId));
    }

    [Fact]
    public void InputIsTruncatedFromTheLeftToTheModelsPositions()
    {
        var r = new LoglikelihoodRequest([1, 2, 3, 4, 5, 6], [7, 8]);
        var (input, targets) = LoglikelihoodScorer.Input(r, maxLength: 4);
        Assert.Equal([4, 5, 6, 7], input); // (ctx + cont)[-5:][:-1]
        Assert.Equal([7, 8], targets);
    }

    [Theory]
    [InlineData(1, true)]       // one context / row per batch: no padding at all
    [InlineData(160, true)]     // a few per batch, right-padded to the longest
    [InlineData(100000, true)]  // everything in one batch
    [InlineData(1, false)]      // rows only (no shared contexts), as the harness batches them
    [InlineData(160, false)]
    public void BatchedEqualsTheUnbatchedPlainForward(int batchTokens, bool shareContexts)
    {
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        var enc = new RequestEncoder(Tok);
        var requests = ZeroShotTask.All
            .SelectMany(t => ZeroShotEvaluator.LoadDocs(t, ZeroShotPaths.Data))
            .SelectMany(d => d.Requests.Select(r => enc.Encode(r.Context, r.Continuation)))
            .ToList();
        var reference = LoglikelihoodScorer.ScoreUnbatched(model, requests);
        var batched = LoglikelihoodScorer.Score(model, requests, batchTokens, shareContexts: shareContexts);
        for (int i = 0; i < requests.Count; i++)
        {
            Assert.True(reference[i] < 0, $"request {i}: log-likelihood {reference[i]} must be negative");
            double rel = Math.Abs(batched[i] - reference[i]) / Math.Abs(reference[i]);
            Assert.True(rel < 1e-5, $"request {i} ({requests[i].Context.Length}+{requests[i].Continuation.Length} tokens): batched {batched[i]}, reference {reference[i]}, rel {rel:E2}");
        }
    }

    [Fact]
    public void SharedRowsGiveEachOneTokenChoiceItsOwnScore()
    {
        // BoolQ's " no" / " yes" are one token each on this tokenizer: both are scored on one row.
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        var enc = new RequestEncoder(Tok);
        var reqs = new[] { enc.Encode("Is it cold?\nAnswer:", " no"), enc.Encode("Is it cold?\nAnswer:", " yes") };
        Assert.All(reqs, r => Assert.Single(r.Continuation));
        var batched = LoglikelihoodScorer.Score(model, reqs);
        var reference = LoglikelihoodScorer.ScoreUnbatched(model, reqs);
        Assert.NotEqual(batched[0], batched[1]);
        for (int i = 0; i < 2; i++) Assert.Equal(reference[i], batched[i], 4);
    }

    [Fact]
    public void EvaluationPicksTheSameAnswersBatchedOrNot()
    {
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        var enc = new RequestEncoder(Tok);
        foreach (var task in ZeroShotTask.All)
        {
            var docs = ZeroShotEvaluator.LoadDocs(task, ZeroShotPaths.Data);
            var fast = ZeroShotEvaluator.Evaluate(model, enc, task, docs, 512);
            var slow = ZeroShotEvaluator.Evaluate(model, enc, task, docs, 512, unbatched: true);
            Assert.Equal(slow.PerDoc.Select(d => d.Pred), fast.PerDoc.Select(d => d.Pred));
            Assert.Equal(slow.PerDoc.Select(d => d.PredNorm), fast.PerDoc.Select(d => d.PredNorm));
            Assert.Equal(slow.Acc, fast.Acc);
            Assert.Equal(docs.Count, fast.Docs);
            Assert.Equal(task.ReportsAccNorm, fast.AccNorm.HasValue);
        }
    }

    [Theory]
    [InlineData(100000)] // one chunk of 30 contexts; 120 cache rows (the gather write path)
    [InlineData(300)]    // several chunks and continuation batches
    public void ManyContextsOfOneLengthShareTheirPrefixExactly(int batchTokens)
    {
        // 30 contexts of 9 tokens, 4 continuations of 1..6 tokens each: random ids, so nothing but the arithmetic matters.
        var rng = new Random(5);
        var requests = new List<LoglikelihoodRequest>();
        for (int c = 0; c < 30; c++)
        {
            var ctx = Enumerable.Range(0, 9).Select(_ => rng.Next(3, 4096)).ToArray();
            for (int k = 0; k < 4; k++)
                requests.Add(new LoglikelihoodRequest(ctx, Enumerable.Range(0, rng.Next(1, 7)).Select(_ => rng.Next(3, 4096)).ToArray()));
        }
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        var reference = LoglikelihoodScorer.ScoreUnbatched(model, requests);
        var shared = LoglikelihoodScorer.Score(model, requests, batchTokens);
        for (int i = 0; i < requests.Count; i++)
            Assert.True(Math.Abs(shared[i] - reference[i]) <= 1e-5 * Math.Abs(reference[i]), $"request {i}: shared {shared[i]}, reference {reference[i]}");
    }

    [Fact]
    public void GatheredCacheRowsContinueAsTheFullForward()
    {
        // 20 rows x 4 kv heads = 80 (row, head) slots: the cache writes through one gather. Rows are gathered in a
        // permuted order, so a row mix-up would show.
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        var rng = new Random(3);
        int b = 20, t = 12, p = 5;
        var ids = Enumerable.Range(0, b * t).Select(_ => rng.Next(3, 4096)).ToArray();
        var perm = Enumerable.Range(0, b).Reverse().ToArray();
        using var noGrad = Lors.Autograd.GradMode.NoGrad();
        using var scope = Lors.Tensors.TensorScope.Begin();
        var full = model.Hidden(Lors.Tensors.Tensor.FromArray(ids, [b, t])).Data.ToFloatArray(); // [B, T, C]
        using var cache = new KvCache(model, b, t + 4); // gathered back to t positions
        var prefix = Enumerable.Range(0, b).SelectMany(i => ids.Skip(i * t).Take(p)).ToArray();
        model.Hidden(Lors.Tensors.Tensor.FromArray(prefix, [b, p]), cache);
        using var sub = cache.Gather(perm, t);
        Assert.Equal(t, sub.MaxTokens);
        Assert.Equal(p, sub.Length);
        var rest = perm.SelectMany(i => ids.Skip(i * t + p).Take(t - p)).ToArray();
        var h = model.Hidden(Lors.Tensors.Tensor.FromArray(rest, [b, t - p]), sub).Data.ToFloatArray(); // [B, T-p, C]
        int c = model.Config.HiddenSize;
        double maxErr = 0;
        for (int i = 0; i < b; i++)
            for (int j = 0; j < t - p; j++)
                for (int k = 0; k < c; k++)
                    maxErr = Math.Max(maxErr, Math.Abs(h[(i * (t - p) + j) * c + k] - full[(perm[i] * t + p + j) * c + k]));
        Assert.True(maxErr < 1e-4, $"max |cached - full| = {maxErr}");
    }

    [Fact]
    public void LayerScopesFreeEachLayersIntermediatesAndChangeNothing()
    {
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        var rng = new Random(9);
        var ids = Enumerable.Range(0, 8 * 128).Select(_ => rng.Next(3, 4096)).ToArray();
        var mem = Lors.Tensors.Backends.Cpu.Memory;
        (float[] h, long peak) Run(bool layerScopes)
        {
            using var noGrad = Lors.Autograd.GradMode.NoGrad();
            long before = mem.CurrentBytes;
            mem.ResetPeak();
            using var scope = Lors.Tensors.TensorScope.Begin();
            var h = model.Hidden(Lors.Tensors.Tensor.FromArray(ids, [8, 128]), layerScopes: layerScopes).Data.ToFloatArray();
            return (h, mem.PeakBytes - before);
        }
        var (plain, plainPeak) = Run(false);
        var (scoped, scopedPeak) = Run(true);
        Assert.Equal(plain, scoped);
        // Each block's intermediates are freed by the graph scopes either way; what layer scopes add is that each
        // layer's output [B, T, C] is freed once the next layer has run, instead of all of them living to the end.
        long outputBytes = 8L * 128 * model.Config.HiddenSize * sizeof(float);
        int layers = model.Config.NumHiddenLayers;
        Assert.True(plainPeak - scopedPeak >= (layers - 2) * outputBytes,
            $"peak with layer scopes {scopedPeak:N0} B, without {plainPeak:N0} B: expected at least {layers - 2} layer outputs of {outputBytes:N0} B less");
    }
}
