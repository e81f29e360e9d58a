// Parity with transformers: tests/fixtures/zeroshot/golden.json (written on the GPU machine by
// bench/gpu/zeroshot_golden.py, the harness's procedure with transformers) against our prompts, tokens, batched
// per-choice log-likelihoods (1e-4 relative) and picks, with BOS and without. Skips while the file is absent.
using System.Text.Json;
using Lors.Models.Evaluation.Tasks;
using Lors.Models.Llama;
using Lors.Models.Tokenization;

namespace Lors.Tests.Evaluation;

public sealed class GoldenFactAttribute : FactAttribute
{
    public GoldenFactAttribute()
    {
        if (!File.Exists(ZeroShotPaths.Golden))
            Skip = $"{ZeroShotPaths.Golden} is absent: run `python3 bench/gpu/zeroshot_golden.py` where transformers is installed and commit the file";
    }
}

public sealed class ZeroShotGoldenTests
{
    [GoldenFact]
    public void MatchesTransformersOnEveryFixtureItem()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(ZeroShotPaths.Golden));
        var tok = Tokenizer.Load(RepoPaths.TinyModel);
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        var modes = doc.RootElement.GetProperty("modes");
        int checkedItems = 0;
        foreach (var (mode, bos) in new[] { ("bos", true), ("no_bos", false) })
        {
            var encoder = new RequestEncoder(tok, addBos: bos);
            foreach (var task in ZeroShotTask.All)
            {
                var golden = modes.GetProperty(mode).GetProperty(task.Name).EnumerateArray().ToList();
                var docs = ZeroShotEvaluator.LoadDocs(task, ZeroShotPaths.Data);
                Assert.Equal(golden.Count, docs.Count);
                var result = ZeroShotEvaluator.Evaluate(model, encoder, task, docs, batchTokens: 256);
                for (int i = 0; i < docs.Count; i++)
                {
                    var g = golden[i];
                    string at = $"{mode} {task.Name} item {i}";
                    Assert.Equal(Strings(g, "contexts"), docs[i].Requests.Select(r => r.Context));
                    Assert.Equal(Strings(g, "continuations"), docs[i].Requests.Select(r => r.Continuation));
                    var ctxTokens = g.GetProperty("context_tokens").EnumerateArray().Select(Ints).ToList();
                    var contTokens = g.GetProperty("continuation_tokens").EnumerateArray().Select(Ints).ToList();
                    for (int k = 0; k < docs[i].Requests.Count; k++)
                    {
                        var r = encoder.Encode(docs[i].Requests[k].Context, docs[i].Requests[k].Continuation);
                        Assert.True(ctxTokens[k].SequenceEqual(r.Context), $"{at} choice {k}: context tokens differ from transformers'");
                        Assert.True(contTokens[k].SequenceEqual(r.Continuation), $"{at} choice {k}: continuation tokens differ from transformers'");
                    }
                    var lls = g.GetProperty("loglikelihoods").EnumerateArray().Select(x => x.GetDouble()).ToArray();
                    var ours = result.PerDoc[i].Loglikelihoods;
                    for (int k = 0; k < lls.Length; k++)
                        Assert.True(Math.Abs(ours[k] - lls[k]) <= 1e-4 * Math.Abs(lls[k]), $"{at} choice {k}: ours {ours[k]}, transformers {lls[k]}");
                    Assert.Equal(g.GetProperty("gold").GetInt32(), result.PerDoc[i].Gold);
                    Assert.Equal(g.GetProperty("pred").GetInt32(), result.PerDoc[i].Pred);
                    Assert.Equal(g.GetProperty("pred_norm").GetInt32(), result.PerDoc[i].PredNorm);
                    checkedItems++;
                }
            }
        }
        Assert.True(checkedItems >= 2 * 20, $"only {checkedItems} golden items checked");
    }

    private static string[] Strings(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetString()!).ToArray();
    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
}
