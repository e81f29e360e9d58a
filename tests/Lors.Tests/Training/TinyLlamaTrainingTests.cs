// End to end on the fixture model pruned 2:4: LoRS adapters with the gradient init, Brown text packed into blocks, a few
// updates lower the validation loss, the mask does work (A B is nonzero where W is zero, yet the merge fills no zero and
// gives the adapted model's logits), adapters are written by the caller's hook, and a stop/resume reproduces the run.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Lors.Tensors;
using Lors.Train.Adapters;
using Lors.Train.Data;
using Lors.Train.FineTuning;
using Lors.Train.Init;
using Lors.Train.Pruning;
using Lors.Train.Training;
using static Lors.Tests.Training.TrainTestUtil;

namespace Lors.Tests.Training;

public class TinyLlamaTrainingTests
{
    private static readonly Lazy<(SequenceDataset, SequenceDataset)> Data = new(() =>
    {
        var tok = Tokenizer.Load(Path.Combine(RepoPaths.TinyModel, "tokenizer.json"));
        var text = File.ReadAllText(RepoPaths.Brown("train"))[..4000];
        return TextDataset.FromText(text, TokenEncoder.From(tok), seqLen: 32).Split(0.2, seed: 1);
    });

    private static (LlamaModel Model, AdapterSet Adapters, SequenceDataset Train, SequenceDataset Val) Setup()
    {
        var modelDir = RepoPaths.TinyModel;
        var (train, val) = Data.Value;
        var model = LlamaModel.Load(modelDir);
        Pruner.Prune(model, new PruneOptions { Method = PruneMethod.Magnitude, Pattern = new SparsityPattern.NM(2, 4) }, null);
        var adapters = AdapterSet.Attach(model, new AdapterConfig { Method = AdapterMethod.Lors, Rank = 4, Alpha = 8, Init = AdapterInit.Gradient, Seed = 3 });
        using (TensorScope.Begin()) GradientInit.Run(model, adapters, FineTuneJob.InitBatches(train, 4, 2, model.Device));
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
            CheckTheMaskDidWork(model, adapters, val);
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

    private static void CheckTheMaskDidWork(LlamaModel model, AdapterSet adapters, SequenceDataset val)
    {
        long maskedOut = 0;
        foreach (var a in adapters.Adapters)
        {
            using var ab = Ops.MatMul(a.A.Data, a.B.Data, outType: DType.F32);
            var w = a.Weight.Data.ToFloatArray();
            var d = ab.ToFloatArray();
            for (int i = 0; i < w.Length; i++) if (w[i] == 0 && d[i] != 0) maskedOut++;
        }
        Assert.True(maskedOut > 0, "A B is zero wherever W is zero: the mask was never exercised");
        float[] Logits()
        {
            using var noGrad = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            var (ids, _) = val.GetBatch([0]).ToTensors(model.Device);
            return model.Forward(ids).Data.ToFloatArray();
        }
        var adapted = Logits();
        var merge = adapters.MergeIntoBase();
        Assert.Equal(0, merge.FilledZeros);
        var merged = Logits();
        double maxRef = adapted.Max(Math.Abs), maxDiff = adapted.Zip(merged, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(maxDiff < 1e-4 * maxRef, $"merged logits differ from the adapted model's by {maxDiff / maxRef:E2} of max |logit|");
    }
}
