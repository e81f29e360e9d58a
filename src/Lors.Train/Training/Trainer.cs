// The training loop, independent of what is trained: named fp32 parameters, a loss function of a micro-batch,
// datasets and options. Gradient accumulation, clipping, AdamW with the LR schedule, evaluation, metrics,
// checkpoints (save/resume bit-identically on the CPU), a NaN/Inf guard and cancellation at step boundaries.
using System.Diagnostics;
using System.Text.Json.Nodes;
using Lors.Autograd;
using Lors.Tensors;
using Lors.Train.Data;
using Lors.Train.Plotting;

namespace Lors.Train.Training;

public sealed class Trainer : IDisposable
{
    private readonly Variable[] _vars;
    private readonly Func<Batch, Variable> _loss;
    private readonly SequenceDataset? _val;
    private readonly Action<string>? _saveAdapters;
    private readonly BatchSampler _sampler;
    private readonly AdamW _opt;
    private readonly LrSchedule _schedule;
    private readonly DeterministicRng _rng;
    private readonly MetricsLog _metrics;
    private double _elapsedBefore;        // seconds spent in earlier runs (restored from a checkpoint)
    private int _checkpointStep = -1;     // step of the checkpoint on disk written or loaded by this trainer
    private readonly Dictionary<string, string> _run;   // what decides the result; recorded in checkpoints
    private readonly int _trainExamples;
    private LogWindow _window;            // losses since the last metrics line (checkpointed, so resumed logs match)

    /// <param name="parameters">The trainable fp32 variables (requiresGrad), with unique names.</param>
    /// <param name="loss">The scalar mean loss of one micro-batch, built with recording on.</param>
    /// <param name="saveAdapters">Called with OutDir when training completes, to write the caller's final files.</param>
    /// <param name="runInfo">The caller's settings that decide the result beyond the options (method, data and model identity);
    /// recorded in each checkpoint, and resume refuses a checkpoint whose settings differ.</param>
    public Trainer(IReadOnlyList<(string Name, Variable Param)> parameters, Func<Batch, Variable> loss, SequenceDataset train,
        SequenceDataset? validation, TrainOptions options, Action<string>? saveAdapters = null, Func<string, bool>? noDecay = null,
        IReadOnlyDictionary<string, string>? runInfo = null)
    {
        options.Validate();
        if (parameters.Count == 0) throw new ArgumentException("Trainer: no trainable parameters");
        if (train.SeqLen != options.SeqLen)
            throw new ArgumentException($"Trainer: training examples have {train.SeqLen} tokens but SeqLen is {options.SeqLen}");
        Options = options;
        _vars = parameters.Select(p => p.Param).ToArray();
        _loss = loss;
        _val = validation is { Count: > 0 } ? validation : null;
        _saveAdapters = saveAdapters;
        _sampler = new BatchSampler(train, options.BatchSize, options.Seed, options.Shuffle);
        _opt = new AdamW(parameters, options.Betas.Beta1, options.Betas.Beta2, options.Eps, options.WeightDecay, noDecay);
        TotalSteps = options.Steps > 0 ? options.Steps
            : Math.Max(1, (int)Math.Ceiling(options.Epochs * _sampler.BatchesPerEpoch / options.GradAccum));
        _schedule = new LrSchedule(options.Lr, options.WarmupSteps, TotalSteps, options.MinLrRatio);
        _rng = new DeterministicRng(DeterministicRng.Mix(options.Seed, 0xBA7C4UL));
        _metrics = new MetricsLog(Path.Combine(options.OutDir, "metrics.jsonl"));
        _trainExamples = train.Count;
        _run = new Dictionary<string, string>(options.TrajectoryFields());
        foreach (var (k, v) in runInfo ?? new Dictionary<string, string>()) _run[k] = v;
    }

    public TrainOptions Options { get; }
    public int TotalSteps { get; }
    /// <summary>Updates completed.</summary>
    public int Step { get; private set; }
    public DataCursor Cursor => _sampler.Cursor;
    public AdamW Optimizer => _opt;
    public string MetricsPath => _metrics.Path;
    public string CheckpointDir => TrainingStateStore.PathIn(Options.OutDir);

    /// <summary>
    /// Loads the checkpoint in OutDir (or <paramref name="checkpointDir"/>) into the parameters, moments, step, cursor
    /// and RNG, so Run continues exactly where it stopped. Throws when none exists, when a field is malformed or out of
    /// range, or when the recorded settings differ (listing them; unless <paramref name="allowOptionsChange"/>).
    /// </summary>
    public TrainingState Resume(string? checkpointDir = null, bool allowOptionsChange = false)
    {
        if (checkpointDir is null) TrainingStateStore.Tidy(Options.OutDir);
        var dir = checkpointDir ?? TrainingStateStore.Find(Options.OutDir)
            ?? throw new FileNotFoundException($"no checkpoint to resume from in {Path.GetFullPath(Options.OutDir)}");
        var limits = new TrainingStateLimits(TotalSteps, Options.GradAccum, Options.BatchSize, _trainExamples);
        // Settings are compared first: a refused resume copies no tensor, and a run with another batch size is told so
        // rather than that its cursor is out of range. Then every field is checked against this run's limits.
        var diff = TrainingStateStore.Differences(TrainingStateStore.ReadRun(dir), _run);
        if (diff.Count > 0 && !allowOptionsChange)
            throw new InvalidOperationException($"resume: {Path.Combine(dir, TrainingStateStore.StateFile)} was written by a run with other settings: " +
                $"{string.Join("; ", diff.Take(8))}{(diff.Count > 8 ? $"; and {diff.Count - 8} more" : "")} (checkpoint -> now)");
        var state = TrainingStateStore.Load(dir, _opt, limits);
        Step = state.Step;
        _window = state.Window;
        _sampler.Cursor = state.Cursor;
        _rng.State = state.RngState;
        _elapsedBefore = state.ElapsedSeconds;
        _checkpointStep = state.Step;
        _metrics.TruncateAfter(state.Step);
        return state;
    }

    /// <summary>
    /// Trains until TotalSteps (then calls saveAdapters(OutDir), saves a final checkpoint and writes loss.png), until
    /// <paramref name="stopAtStep"/> or until <paramref name="ct"/> is cancelled (both save a checkpoint at the step boundary).
    /// </summary>
    public TrainResult Run(IProgress<TrainProgress>? progress = null, CancellationToken ct = default, int? stopAtStep = null)
    {
        Directory.CreateDirectory(Options.OutDir);
        TrainingStateStore.Tidy(Options.OutDir);   // a checkpoint.old/ or .tmp/ left by a kill
        var clock = Stopwatch.StartNew();
        try { return RunLoop(progress, ct, stopAtStep, clock); }
        finally { _elapsedBefore += clock.Elapsed.TotalSeconds; }
    }

    private TrainResult RunLoop(IProgress<TrainProgress>? progress, CancellationToken ct, int? stopAtStep, Stopwatch clock)
    {
        var memory = _vars[0].Data.Backend.Memory;
        double windowStart = 0;
        long windowTokens = 0;
        double? lastLoss = null, lastEval = null;
        int G = Options.GradAccum;
        _opt.ZeroGrad();   // gradients left by the caller (e.g. a gradient-based init) must not leak into the first update

        while (Step < TotalSteps)
        {
            if (ct.IsCancellationRequested || Step >= stopAtStep)
            {
                var dir = SaveCheckpoint(clock);
                return new TrainResult(Step, TotalSteps, ct.IsCancellationRequested, !ct.IsCancellationRequested, lastLoss, lastEval, dir);
            }

            double lr = _schedule.At(Step);
            double lossSum = 0;
            long tokens = 0;
            for (int g = 0; g < G; g++)
            {
                var batch = _sampler.Next(_rng.NextUInt64());
                tokens += batch.TokenCount;
                using var scope = TensorScope.Begin();   // frees this micro-batch's activations and graph
                var loss = _loss(batch);
                if (loss.Data.Numel != 1) throw new InvalidOperationException($"Trainer: the loss function returned shape {Tensor.ShapeString(loss.Shape)}, not a scalar");
                double value = loss.Data.Item();
                lossSum += value;
                if (!double.IsFinite(value)) continue;    // no backward through a NaN graph; the guard below stops
                (G == 1 ? loss : F.Scale(loss, 1.0 / G)).Backward();
            }
            double stepLoss = lossSum / G;
            double norm = GradClip.ClipByGlobalNorm(_vars, Options.ClipNorm);
            if (!double.IsFinite(stepLoss) || !double.IsFinite(norm))
            {
                _opt.ZeroGrad();
                throw new TrainingDivergedException(Step + 1, stepLoss, norm, _checkpointStep >= 0 ? CheckpointDir : null);
            }
            _opt.Step(lr);
            _opt.ZeroGrad();
            Step++;
            lastLoss = stepLoss;

            _window = new LogWindow(_window.LossSum + stepLoss, _window.Steps + 1);
            windowTokens += tokens;

            double? evalLoss = null;
            bool evalNow = _val is not null && ((Options.EvalEvery > 0 && Step % Options.EvalEvery == 0) || Step == TotalSteps);
            if (evalNow) lastEval = evalLoss = Evaluate();

            double now = clock.Elapsed.TotalSeconds;
            double tps = windowTokens / Math.Max(1e-9, now - windowStart);
            if (Step % Options.LogEvery == 0 || Step == 1 || Step == TotalSteps || evalLoss is not null)
            {
                var rec = new JsonObject
                {
                    ["step"] = Step,
                    ["loss"] = MetricsLog.Num(_window.LossSum / _window.Steps),
                    ["lr"] = MetricsLog.Num(lr),
                    ["grad_norm"] = MetricsLog.Num(norm),
                    ["tokens_per_s"] = MetricsLog.Num(Math.Round(tps, 1)),
                    ["elapsed_s"] = MetricsLog.Num(Math.Round(_elapsedBefore + now, 3)),
                    ["peak_memory_bytes"] = memory.PeakBytes,
                };
                if (evalLoss is double el)
                {
                    rec["eval_loss"] = MetricsLog.Num(el);
                    rec["eval_ppl"] = MetricsLog.Num(Math.Exp(el));
                }
                _metrics.Append(rec);
                (_window, windowTokens, windowStart) = (default, 0, now);
            }
            progress?.Report(new TrainProgress(Step, TotalSteps, stepLoss, lr, norm, tps, TimeSpan.FromSeconds(_elapsedBefore + now),
                memory.PeakBytes, evalLoss, evalLoss is double e2 ? Math.Exp(e2) : null));

            if (Options.CheckpointEvery > 0 && Step % Options.CheckpointEvery == 0 && Step < TotalSteps) SaveCheckpoint(clock);
        }

        _saveAdapters?.Invoke(Options.OutDir);
        var final = SaveCheckpoint(clock);
        WritePlot();
        return new TrainResult(Step, TotalSteps, false, false, lastLoss, lastEval, final);
    }

    /// <summary>Mean loss over the validation batches (EvalBatches of them, 0 = all), without recording a graph.</summary>
    public double Evaluate()
    {
        if (_val is null) throw new InvalidOperationException("Trainer: no validation data");
        using var _ = GradMode.NoGrad();
        double sum = 0;
        int n = 0;
        foreach (var batch in BatchSampler.Sequential(_val, Options.BatchSize, Options.EvalBatches))
        {
            using var scope = TensorScope.Begin();
            sum += _loss(batch).Data.Item();
            n++;
        }
        return sum / Math.Max(1, n);
    }

    /// <summary>Writes OutDir/loss.png from metrics.jsonl (training loss and evaluation loss).</summary>
    public void WritePlot()
    {
        var (train, eval) = _metrics.ReadHistory();
        if (train.Count == 0) return;
        LossPlot.WritePng(Path.Combine(Options.OutDir, "loss.png"), train, eval.Count > 0 ? eval : null, "loss");
    }

    private string SaveCheckpoint(Stopwatch clock)
    {
        if (_checkpointStep == Step && TrainingStateStore.Find(Options.OutDir) is string existing) return existing;
        var state = new TrainingState(Step, _opt.StepCount, _sampler.Cursor, _rng.State, Options.TrajectoryHash(),
            _elapsedBefore + clock.Elapsed.TotalSeconds) { Run = _run, Window = _window };
        var dir = TrainingStateStore.Save(Options.OutDir, state, _opt);
        _checkpointStep = Step;
        return dir;
    }

    public void Dispose() => _opt.Dispose();
}
