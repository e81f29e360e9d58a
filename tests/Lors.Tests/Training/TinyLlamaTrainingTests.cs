// End to end on the fixture model: LoRS adapters on tiny-llama-brown, Brown text packed into blocks, a few updates
// lower the validation loss, adapters are written by the caller's hook, and a stop/resume reproduces the run.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Lors.Tensors;
using Lors.Train.Adapters;
using Lors.Train.Data;
using Lors.Train.Training;
using static Lors.Tests.Training.TrainTestUtil;

namespace Lors.Tests.Training;

public class TinyLlamaTrainingTests
{
    private static readonly Lazy<(SequenceDataset, SequenceDataset)> Data = new(() =>
    {
        var root = RepoRoot();
        var tok = Tokenizer.Load(Path.Combine(root, "models", "tiny-llama-brown", "tokenizer.json"));
        var text = File.ReadAllText(Path.Combine(root, "data", "brown", "brown.train.txt"))[..4000];
        return TextDataset.FromText(text, TokenEncoder.From(tok), seqLen: 32).Split(0.2, seed: 1);
    });

    private static (LlamaModel Model, AdapterSet Adapters, SequenceDataset Train, SequenceDataset Val) Setup()
    {
        var root = RepoRoot();
        var modelDir = Path.Combine(root, "models", "tiny-llama-brown");
        var (train, val) = Data.Value;
        var model = LlamaModel.Load(modelDir);
        var adapters = AdapterSet.Attach(model, new AdapterConfig { Method = AdapterMethod.Lors, Rank = 4, Alpha = 8, Init = AdapterInit.Lora, Seed = 3 });
        return (model, adapters, train, val);
    }

    private static TrainOptions Opts(string dir) => new()
    {
        Steps = 4, BatchSize = 2, SeqLen = 32, GradAccum = 1, Lr = 5e-3, WarmupSteps = 1, MinLrRatio = 0.1, ClipNorm = 1.0,
        EvalEvery = 0, EvalBatches = 2, CheckpointEvery = 2, LogEvery = 1, OutDir = dir, Seed = 5,
    };

    /// <summary>The model's own next-token loss (HF shift, -100 ignored); its tensors live in the trainer's micro-batch scope.</summary>
    private static Variable LossOf(LlamaModel m, Batch b)
    {
        var (ids, labels) = b.ToTensors(m.Device);
        return m.Loss(ids, labels);
    }

    [Fact]
    public void AFewUpdatesLowerTheValidationLossAndResumeMatches()
    {
        var dir = TempDir("tiny-llama");
        var (model, adapters, train, val) = Setup();
        float[] straightA;
        using (model)
        using (adapters)
        using (var t = new Trainer(adapters.Parameters, b => LossOf(model, b), train, val, Opts(dir), adapters.Save))
        {
            double before = t.Evaluate();
            var r = t.Run();
            Assert.True(r.Completed);
            Assert.True(r.LastEvalLoss < before, $"eval loss {before} -> {r.LastEvalLoss}");
            Assert.True(File.Exists(Path.Combine(dir, AdapterSet.WeightsFile)));
            Assert.True(File.Exists(Path.Combine(dir, "loss.png")));
            straightA = adapters.Parameters[0].Param.Data.ToFloatArray();
        }

        var dir2 = TempDir("tiny-llama-resume");
        (model, adapters, train, val) = Setup();
        using (model)
        using (adapters)
        using (var t = new Trainer(adapters.Parameters, b => LossOf(model, b), train, val, Opts(dir2)))
            Assert.True(t.Run(stopAtStep: 2).Stopped);
        (model, adapters, train, val) = Setup();
        using (model)
        using (adapters)
        using (var t = new Trainer(adapters.Parameters, b => LossOf(model, b), train, val, Opts(dir2)))
        {
            t.Resume();
            t.Run();
            Assert.Equal(straightA, adapters.Parameters[0].Param.Data.ToFloatArray());
        }
    }
}
