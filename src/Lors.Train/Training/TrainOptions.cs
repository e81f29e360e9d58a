// Hyper-parameters and bookkeeping settings of a training run, and the hash of those that decide the trajectory
// (a checkpoint records it, so resuming with different settings is caught).
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Lors.Train.Training;

public sealed record TrainOptions
{
    /// <summary>Optimizer updates to make; when 0, Epochs decides (ceil(Epochs * batchesPerEpoch / GradAccum)).</summary>
    public int Steps { get; init; }
    public double Epochs { get; init; } = 1;
    public int BatchSize { get; init; } = 8;
    public int SeqLen { get; init; } = 256;
    /// <summary>Micro-batches per update; the loss of each is divided by GradAccum before backward.</summary>
    public int GradAccum { get; init; } = 1;
    public double Lr { get; init; } = 2e-4;
    public double WeightDecay { get; init; }
    public (double Beta1, double Beta2) Betas { get; init; } = (0.9, 0.999);
    public double Eps { get; init; } = 1e-8;
    public int WarmupSteps { get; init; }
    public double MinLrRatio { get; init; } = 0.1;
    /// <summary>Maximum global gradient norm; 0 disables clipping.</summary>
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>Evaluate every N updates (0: only at the end, when there is validation data).</summary>
    public int EvalEvery { get; init; }
    /// <summary>Validation batches per evaluation (0: the whole validation set).</summary>
    public int EvalBatches { get; init; }
    /// <summary>Save a checkpoint every N updates (0: only when stopping or at the end).</summary>
    public int CheckpointEvery { get; init; }
    public string OutDir { get; init; } = "out";
    public ulong Seed { get; init; } = 42;
    public int LogEvery { get; init; } = 10;
    /// <summary>Shuffle the training examples (a seeded, epoch-dependent permutation).</summary>
    public bool Shuffle { get; init; } = true;

    public void Validate()
    {
        void Positive(string name, double v) { if (!(v > 0)) throw new ArgumentException($"TrainOptions: {name} must be positive, got {v}"); }
        void NonNegative(string name, double v) { if (!(v >= 0)) throw new ArgumentException($"TrainOptions: {name} must be >= 0, got {v}"); }
        NonNegative(nameof(Steps), Steps);
        if (Steps == 0) Positive(nameof(Epochs), Epochs);
        Positive(nameof(BatchSize), BatchSize);
        Positive(nameof(SeqLen), SeqLen);
        Positive(nameof(GradAccum), GradAccum);
        Positive(nameof(Lr), Lr);
        NonNegative(nameof(WeightDecay), WeightDecay);
        if (Betas.Beta1 is < 0 or >= 1 || Betas.Beta2 is < 0 or >= 1) throw new ArgumentException($"TrainOptions: betas must be in [0, 1), got {Betas}");
        Positive(nameof(Eps), Eps);
        NonNegative(nameof(WarmupSteps), WarmupSteps);
        if (MinLrRatio is < 0 or > 1) throw new ArgumentException($"TrainOptions: MinLrRatio must be in [0, 1], got {MinLrRatio}");
        NonNegative(nameof(ClipNorm), ClipNorm);
        NonNegative(nameof(EvalEvery), EvalEvery);
        NonNegative(nameof(EvalBatches), EvalBatches);
        NonNegative(nameof(CheckpointEvery), CheckpointEvery);
        Positive(nameof(LogEvery), LogEvery);
    }

    /// <summary>
    /// SHA-256 (hex, 16 chars) of the settings that shape the trajectory. Logging, evaluation, checkpoint cadence and
    /// the output folder are left out: changing them on resume does not change the parameters.
    /// </summary>
    public string TrajectoryHash()
    {
        var s = string.Join(";", TrajectoryFields().Select(kv => $"{kv.Key}={kv.Value}"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)))[..16];
    }

    /// <summary>The settings that shape the trajectory, by name (a checkpoint records them; resume lists the ones that differ).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> TrajectoryFields()
    {
        var c = CultureInfo.InvariantCulture;
        return new Dictionary<string, string>
        {
            ["steps"] = $"{Steps}", ["epochs"] = Epochs.ToString("R", c), ["batch"] = $"{BatchSize}", ["seq"] = $"{SeqLen}", ["accum"] = $"{GradAccum}",
            ["lr"] = Lr.ToString("R", c), ["wd"] = WeightDecay.ToString("R", c), ["b1"] = Betas.Beta1.ToString("R", c),
            ["b2"] = Betas.Beta2.ToString("R", c), ["eps"] = Eps.ToString("R", c), ["warmup"] = $"{WarmupSteps}",
            ["minlr"] = MinLrRatio.ToString("R", c), ["clip"] = ClipNorm.ToString("R", c), ["seed"] = $"{Seed}", ["shuffle"] = $"{Shuffle}",
        }.ToList();
    }
}
