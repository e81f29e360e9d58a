// The library example of the README, run with a few steps: load, prune 2:4 with Wanda, fine-tune with LoRS, merge.
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Lors.Train.Adapters;
using Lors.Train.FineTuning;
using Lors.Train.Pruning;
using Lors.Train.Training;

namespace Lors.Tests;

public sealed class ReadmeExampleTests
{
    [Fact]
    public void PruneFineTuneMergeKeepsTwoFour()
    {
        var modelDir = RepoPaths.TinyModel;
        var text = RepoPaths.Brown("train");
        var outDir = Path.Combine(Path.GetTempPath(), "lors-readme-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            // --- the README's example, with Steps = 2 and fewer samples ---
            var tokenizer = Tokenizer.Load(modelDir);
            using var model = LlamaModel.Load(modelDir);

            var calibration = CalibrationData.FromText(tokenizer, text, samples: 4, seqLen: 128, seed: 0);
            Pruner.Prune(model, new PruneOptions { Method = PruneMethod.Wanda, Pattern = new SparsityPattern.NM(2, 4) }, calibration);

            var job = FineTuneJob.Run(model, tokenizer, new FineTuneSpec
            {
                DataPath = text,
                MaxExamples = 16,
                Adapter = new AdapterConfig { Method = AdapterMethod.Lors, Rank = 4, Alpha = 4, InitSamples = 4 },
                Train = new TrainOptions { Steps = 2, BatchSize = 2, SeqLen = 128, Lr = 1e-3, OutDir = outDir },
            });
            MergeReport report;
            using (job.Adapters) report = job.Adapters.MergeIntoBase();
            model.SaveFolder(Path.Combine(outDir, "merged"), copyFrom: modelDir);
            // ---

            Assert.Equal(2, job.Result.Step);
            Assert.True(report.SparsityPreserved);
            Assert.True(SparsityCheck.Check(Path.Combine(outDir, "merged"), new SparsityPattern.NM(2, 4)).Ok);
            Assert.True(File.Exists(Path.Combine(outDir, "adapter", AdapterSet.WeightsFile)));
            Assert.True(File.Exists(Path.Combine(outDir, "metrics.jsonl")));
        }
        finally
        {
            if (Directory.Exists(outDir)) Directory.Delete(outDir, true);
        }
    }
}
