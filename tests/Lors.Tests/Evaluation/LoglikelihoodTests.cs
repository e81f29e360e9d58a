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
    [InlineData(1)]      // one row per batch: no padding at all
    [InlineData(160)]    // a few rows per batch, right-padded to the longest
    [InlineData(100000)] // everything in one batch
    public void BatchedEqualsTheUnbatchedPlainForward(int batchTokens)
    {
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        var enc = new RequestEncoder(Tok);
        var requests = ZeroShotTask.All
            .SelectMany(t => ZeroShotEvaluator.LoadDocs(t, ZeroShotPaths.Data))
            .SelectMany(d => d.Requests.Select(r => enc.Encode(r.Context, r.Continuation)))
            .ToList();
        var reference = LoglikelihoodScorer.ScoreUnbatched(model, requests);
        var batched = LoglikelihoodScorer.Score(model, requests, batchTokens);
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
}
