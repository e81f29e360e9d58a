// Learning-rate schedule: linear warmup to the peak, then a cosine decay down to a floor (peak * MinLrRatio).
namespace Lors.Train.Training;

public sealed record LrSchedule(double PeakLr, int WarmupSteps, int TotalSteps, double MinLrRatio = 0.0)
{
    /// <summary>
    /// The rate for update <paramref name="step"/> (0-based: the first update is step 0). Warmup gives
    /// peak * (step + 1) / warmup, so the first update already moves the parameters (Hugging Face's starts at 0);
    /// then cosine from the peak at step = warmup to the floor at step = total - 1, and the floor after.
    /// </summary>
    public double At(int step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be >= 0");
        if (step < WarmupSteps) return PeakLr * (step + 1) / WarmupSteps;
        double floor = PeakLr * MinLrRatio;
        int decaySteps = TotalSteps - 1 - WarmupSteps;
        if (decaySteps <= 0) return step == WarmupSteps ? PeakLr : floor;
        double progress = Math.Min(1.0, (step - WarmupSteps) / (double)decaySteps);
        return floor + (PeakLr - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
