// What the trainer reports after each update, what Run returns, and the divergence error.
namespace Lors.Train.Training;

public sealed record TrainProgress(int Step, int TotalSteps, double Loss, double Lr, double GradNorm, double TokensPerSecond,
    TimeSpan Elapsed, long PeakMemoryBytes, double? EvalLoss = null, double? EvalPerplexity = null);

/// <param name="Step">Updates completed (and checkpointed when Cancelled or Stopped).</param>
/// <param name="Cancelled">The token was cancelled; a checkpoint at Step was saved.</param>
/// <param name="Stopped">Run stopped at the requested stopAtStep; a checkpoint at Step was saved.</param>
public sealed record TrainResult(int Step, int TotalSteps, bool Cancelled, bool Stopped, double? LastLoss, double? LastEvalLoss,
    string? CheckpointDir)
{
    public bool Completed => !Cancelled && !Stopped && Step >= TotalSteps;
}

/// <summary>The loss or the gradient norm became NaN or infinite; the parameters were not updated with it.</summary>
public sealed class TrainingDivergedException(int step, double loss, double gradNorm, string? lastCheckpoint)
    : Exception($"training diverged at step {step}: " + (double.IsFinite(loss)
            ? $"the gradient norm is {gradNorm} (the loss {loss:G6} was finite)"
            : $"the loss is {loss} (no backward was run, so no gradient norm)") + "; the update was not applied"
        + (lastCheckpoint is null ? "; no checkpoint had been saved" : $"; the last good checkpoint {lastCheckpoint} is intact"))
{
    public int Step { get; } = step;
    public double Loss { get; } = loss;
    public double GradNorm { get; } = gradNorm;
    public string? LastCheckpoint { get; } = lastCheckpoint;
}
