// The trainer on a tiny linear-regression problem: loss goes down, metrics/plot/checkpoint are written,
// resume is bit-identical, the NaN guard keeps the last checkpoint, cancellation saves one.
using System.Text.Json.Nodes;
using Lors.Autograd;
using Lors.Train.Data;
using Lors.Train.Training;
using static Lors.Tests.Training.TrainTestUtil;

namespace Lors.Tests.Training;

public class TrainerTests
{
    private static TrainOptions Opts(string dir, int steps = 20) => new()
    {
        Steps = steps, BatchSize = 8, SeqLen = 1, GradAccum = 2, Lr = 0.05, WeightDecay = 0.01, WarmupSteps = 3,
        MinLrRatio = 0.1, ClipNorm = 1.0, EvalEvery = 5, EvalBatches = 2, CheckpointEvery = 4, LogEvery = 2, OutDir = dir, Seed = 11,
    };

    private static Trainer Make(LinearProblem p, TrainOptions o, Action<string>? save = null) =>
        new(p.Parameters, p.Loss, p.Dataset(0, 48), p.Dataset(48, 16), o, save);

    /// <summary>Reports synchronously (Progress&lt;T&gt; would post to a thread-pool callback).</summary>
    private sealed class SyncProgress(Action<TrainProgress> on) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => on(value);
    }

    private static JsonObject State(string outDir) =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(TrainingStateStore.PathIn(outDir), TrainingStateStore.StateFile)))!;

    [Fact]
    public void LossDecreasesAndOutputsAreWritten()
    {
        var dir = TempDir("fit");
        using var p = new LinearProblem();
        string? savedTo = null;
        var reports = new List<TrainProgress>();
        using var t = Make(p, Opts(dir, 100) with { Lr = 0.1 }, d => savedTo = d);
        var r = t.Run(new SyncProgress(reports.Add));
        Assert.True(r.Completed);
        Assert.Equal(100, r.Step);
        Assert.Equal(dir, savedTo);
        Assert.True(reports[^1].Loss < reports[0].Loss / 10, $"loss {reports[0].Loss} -> {reports[^1].Loss}");
        Assert.True(r.LastEvalLoss < 0.05, $"eval loss {r.LastEvalLoss}");
        var w = p.W.Data.ToFloatArray();
        Assert.Equal(1.0, w[0], 0.15);
        Assert.Equal(-2.0, w[1], 0.15);

        var lines = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => (JsonObject)JsonNode.Parse(l)!).ToList();
        Assert.Equal(1, (int)lines[0]["step"]!);
        foreach (var key in new[] { "loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s", "peak_memory_bytes" })
            Assert.True(lines[^1].ContainsKey(key), key);
        var evals = lines.Where(l => l.ContainsKey("eval_loss")).ToList();
        Assert.Equal(Enumerable.Range(1, 20).Select(i => 5 * i), evals.Select(l => (int)l["step"]!));
        Assert.Equal(Math.Exp((double)evals[0]["eval_loss"]!), (double)evals[0]["eval_ppl"]!, 6);
        Assert.True(File.Exists(Path.Combine(dir, "loss.png")));
        Assert.Equal(100, (int)State(dir)["step"]!);
        Assert.Equal(TrainingStateStore.FormatVersion, (int)State(dir)["format_version"]!);
        Assert.False(Directory.Exists(TrainingStateStore.PathIn(dir) + ".tmp"));
        Assert.False(Directory.Exists(TrainingStateStore.PathIn(dir) + ".old"));
    }

    [Fact]
    public void ResumeAfterStopIsBitIdenticalToAStraightRun()
    {
        var straightDir = TempDir("straight");
        using var a = new LinearProblem();
        using (var t = Make(a, Opts(straightDir))) t.Run();

        var dir = TempDir("resume");
        using (var b1 = new LinearProblem())
        using (var t1 = Make(b1, Opts(dir)))
        {
            var r1 = t1.Run(stopAtStep: 10);
            Assert.True(r1.Stopped);
            Assert.Equal(10, r1.Step);
        }
        Assert.Equal(10, (int)State(dir)["step"]!);
        using var b2 = new LinearProblem();                     // fresh parameters: everything comes from the checkpoint
        using var t2 = Make(b2, Opts(dir));
        var st = t2.Resume();
        Assert.Equal(10, st.Step);
        Assert.True(t2.Run().Completed);

        Assert.Equal(Bytes(a.W.Data), Bytes(b2.W.Data));
        Assert.Equal(Bytes(a.B.Data), Bytes(b2.B.Data));
        foreach (var ((_, ma, va), (_, mb, vb)) in AdamWMoments(straightDir).Zip(AdamWMoments(dir)))
        {
            Assert.Equal(ma, mb);
            Assert.Equal(va, vb);
        }
        // the metrics log continues: same steps and losses as the straight run
        Assert.Equal(LossLines(straightDir), LossLines(dir));
    }

    private static List<(string, byte[], byte[])> AdamWMoments(string outDir)
    {
        using var f = Lors.Models.Formats.SafetensorsFile.Open(Path.Combine(TrainingStateStore.PathIn(outDir), TrainingStateStore.TensorsFile));
        return new[] { "w", "b" }.Select(n => (n, f.GetBytes(f.Get("adam_m/" + n)).ToArray(), f.GetBytes(f.Get("adam_v/" + n)).ToArray())).ToList();
    }

    private static List<string> LossLines(string outDir) =>
        File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl")).Select(l => (JsonObject)JsonNode.Parse(l)!)
            .Select(o => $"{o["step"]} {o["loss"]} {o["lr"]} {o["grad_norm"]} {o["eval_loss"]}").ToList();

    [Fact]
    public void CancellationSavesACheckpointAtTheStepBoundaryAndResumes()
    {
        var straightDir = TempDir("straight2");
        using var a = new LinearProblem();
        using (var t = Make(a, Opts(straightDir))) t.Run();

        var dir = TempDir("cancel");
        using var cts = new CancellationTokenSource();
        using (var b1 = new LinearProblem())
        using (var t1 = Make(b1, Opts(dir)))
        {
            var r = t1.Run(new SyncProgress(pr => { if (pr.Step == 7) cts.Cancel(); }), cts.Token);
            Assert.True(r.Cancelled);
            Assert.False(r.Completed);
            Assert.Equal(7, r.Step);
        }
        var s = State(dir);
        Assert.Equal(7, (int)s["step"]!);
        using var b2 = new LinearProblem();
        using var t2 = Make(b2, Opts(dir));
        t2.Resume();
        Assert.Equal(7, t2.Step);
        t2.Run();
        Assert.Equal(Bytes(a.W.Data), Bytes(b2.W.Data));
        Assert.Equal(Bytes(a.B.Data), Bytes(b2.B.Data));
    }

    [Fact]
    public void NanLossStopsWithDivergedExceptionAndLeavesTheLastCheckpoint()
    {
        var dir = TempDir("nan");
        using var p = new LinearProblem();
        int calls = 0;
        float[]? wAtCheckpoint = null;
        Variable Loss(Batch b)
        {
            var l = p.Loss(b);
            // micro-batch 9 is the first of update 5 (GradAccum 2): poison it
            return ++calls == 9 ? F.Scale(l, double.NaN) : l;
        }
        using var t = new Trainer(p.Parameters, Loss, p.Dataset(0, 48), null, Opts(dir));
        var e = Assert.Throws<TrainingDivergedException>(() =>
            t.Run(new SyncProgress(pr => { if (pr.Step == 4) wAtCheckpoint = p.W.Data.ToFloatArray(); })));
        Assert.Equal(5, e.Step);
        Assert.Contains("step 5", e.Message);
        Assert.NotNull(e.LastCheckpoint);
        Assert.Equal(4, t.Step);
        Assert.Equal(4, (int)State(dir)["step"]!);              // CheckpointEvery = 4: the good one stays
        Assert.Null(p.W.Grad);
        Assert.Equal(wAtCheckpoint, p.W.Data.ToFloatArray());    // the bad update was not applied
        using var f = Lors.Models.Formats.SafetensorsFile.Open(Path.Combine(TrainingStateStore.PathIn(dir), TrainingStateStore.TensorsFile));
        Assert.Equal(Bytes(p.W.Data), f.GetBytes(f.Get("param/w")).ToArray());
        Assert.False(File.Exists(Path.Combine(dir, "loss.png")));
    }

    [Fact]
    public void NonFiniteGradientWithFiniteLossAlsoStops()
    {
        var dir = TempDir("nangrad");
        using var p = new LinearProblem();
        int calls = 0;
        // sqrt(0 * w) is 0, but its backward is 0.5 / 0 times 0 = NaN: the loss stays finite, the gradient does not
        Variable Loss(Batch b) => ++calls < 5 ? p.Loss(b) : F.Add(p.Loss(b), F.Mean(F.Unary(Lors.Tensors.UnaryOp.Sqrt, F.Scale(p.W, 0))));
        using var t = new Trainer(p.Parameters, Loss, p.Dataset(0, 48), null, Opts(dir) with { CheckpointEvery = 2 });
        var e = Assert.Throws<TrainingDivergedException>(() => t.Run());
        Assert.Equal(3, e.Step);
        Assert.True(double.IsFinite(e.Loss));
        Assert.True(double.IsNaN(e.GradNorm));
        Assert.Equal(2, (int)State(dir)["step"]!);
    }

    [Fact]
    public void ResumeRefusesOtherOptionsAndMissingCheckpoint()
    {
        var dir = TempDir("hash");
        using var p = new LinearProblem();
        using (var t = Make(p, Opts(dir))) t.Run(stopAtStep: 4);
        using var q = new LinearProblem();
        using var t2 = Make(q, Opts(dir) with { Lr = 0.01 });
        Assert.Throws<InvalidOperationException>(() => t2.Resume());
        using var t3 = Make(q, Opts(dir) with { LogEvery = 1, EvalEvery = 0 });   // bookkeeping-only changes are fine
        Assert.Equal(4, t3.Resume().Step);
        using var t4 = Make(q, Opts(TempDir("empty")));
        Assert.Throws<FileNotFoundException>(() => t4.Resume());
    }

    [Fact]
    public void InterruptedCheckpointSwapFallsBackToTheOldFolder()
    {
        var dir = TempDir("swap");
        using var p = new LinearProblem();
        using (var t = Make(p, Opts(dir))) t.Run(stopAtStep: 4);
        var ck = TrainingStateStore.PathIn(dir);
        Directory.Move(ck, ck + ".old");                         // as if the process died between the two renames
        Directory.CreateDirectory(ck + ".tmp");                   // and left a partial new one
        Assert.Equal(ck + ".old", TrainingStateStore.Find(dir));
        using var q = new LinearProblem();
        using var t2 = Make(q, Opts(dir));
        Assert.Equal(4, t2.Resume().Step);
        t2.Run(stopAtStep: 8);
        Assert.Equal(ck, TrainingStateStore.Find(dir));
        Assert.False(Directory.Exists(ck + ".tmp"));
        Assert.False(Directory.Exists(ck + ".old"));
    }

    [Fact]
    public void EpochsDecideTheStepCountWhenStepsIsZero()
    {
        using var p = new LinearProblem();
        using var t = Make(p, Opts(TempDir("epochs"), 0) with { Epochs = 2 });
        Assert.Equal(6, t.TotalSteps);                           // 48 / 8 = 6 batches per epoch, 2 epochs, 2 per update
        Assert.True(t.Run().Completed);
        Assert.Equal(new DataCursor(1, 48), t.Cursor);
    }
}
