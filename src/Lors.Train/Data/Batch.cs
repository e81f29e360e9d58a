// A micro-batch of B sequences of T tokens, row-major [B, T], with labels (-100 = no loss) in the model's (unshifted) layout.
using Lors.Tensors;

namespace Lors.Train.Data;

/// <param name="Seed">A per-micro-batch seed drawn from the trainer's RNG, for losses that need randomness (dropout);
/// it is part of the checkpointed state, so a resumed run draws the same seeds.</param>
public sealed record Batch(int[] Ids, int[] Labels, int B, int T, ulong Seed = 0)
{
    public const int IgnoreIndex = -100;

    public int TokenCount => B * T;

    /// <summary>Positions that carry a loss (label != -100).</summary>
    public int LabelCount => Labels.Count(l => l != IgnoreIndex);

    /// <summary>I32 [B, T] tensors of ids and labels on <paramref name="device"/> (the caller disposes them, or a scope does).</summary>
    public (Tensor Ids, Tensor Labels) ToTensors(Device? device = null) =>
        (Tensor.FromArray(Ids, [B, T], device), Tensor.FromArray(Labels, [B, T], device));
}
