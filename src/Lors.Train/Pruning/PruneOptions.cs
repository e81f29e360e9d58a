// What to prune and how (method, pattern, SparseGPT's block size and dampening), and what a prune reports back.
using Lors.Models.Llama;

namespace Lors.Train.Pruning;

public enum PruneMethod { Magnitude, Wanda, SparseGpt }

/// <summary>
/// Where the pruning math runs. Host: scores, masks and SparseGPT in host arrays (double where it matters), the
/// reference. Device: through backend ops on the model's device (scores, masks, X^T X, the Hessian factor and the OBS
/// loop in fp32), so a CUDA model never leaves the GPU; on a CPU model it runs the same ops on the CPU backend.
/// Auto: Device on CUDA, Host on the CPU.
/// </summary>
public enum PruneEngine { Auto, Host, Device }

/// <summary>Where unstructured magnitude pruning compares |W|: across the whole matrix (classic) or within each output row.</summary>
public enum MagnitudeScope { PerMatrix, PerRow }

public sealed record PruneOptions
{
    public PruneMethod Method { get; init; } = PruneMethod.SparseGpt;
    public SparsityPattern Pattern { get; init; } = new SparsityPattern.Unstructured(0.5);
    public MagnitudeScope MagnitudeScope { get; init; } = MagnitudeScope.PerMatrix;
    /// <summary>SparseGPT column block (lazy batch update width); rounded down to a multiple of M for N:M.</summary>
    public int BlockSize { get; init; } = 128;
    /// <summary>SparseGPT dampening: this fraction of the mean Hessian diagonal is added to the diagonal.</summary>
    public double Dampening { get; init; } = 0.01;
    public PruneEngine Engine { get; init; } = PruneEngine.Auto;
    /// <summary>Calibration tokens per forward batch (samples per batch = max(1, this / sequence length)).</summary>
    public int BatchTokens { get; init; } = 4096;

    public static PruneMethod ParseMethod(string s) => s.Trim().ToLowerInvariant() switch
    {
        "magnitude" or "mag" => PruneMethod.Magnitude,
        "wanda" => PruneMethod.Wanda,
        "sparsegpt" or "sparse-gpt" => PruneMethod.SparseGpt,
        _ => throw new ArgumentException($"unknown pruning method '{s}' (expected magnitude, wanda or sparsegpt)", "method"),
    };
}

public sealed record PruneProgress(int Layer, int LayerCount, string Stage, TimeSpan Elapsed)
{
    public override string ToString() => $"layer {Layer + 1}/{LayerCount}: {Stage} ({Elapsed.TotalSeconds:F1} s)";
}

/// <summary>One pruned matrix: zeros after pruning and, for SparseGPT, the OBS loss sum (w - q)^2 / (2 [H^-1]_ii) estimate.</summary>
public sealed record MatrixPruneStats(int Layer, Projection Projection, string Name, int Rows, int Cols, long Zeros, double Loss, TimeSpan Elapsed)
{
    public double Sparsity => (double)Zeros / ((long)Rows * Cols);
}

/// <summary>One decoder layer: Capture = calibration forward with statistics, Solve = choosing masks and updating
/// weights, Propagate = the pruned layer's forward that feeds the next layer.</summary>
public sealed record LayerPruneStats(int Layer, long Weights, long Zeros, TimeSpan Capture, TimeSpan Solve, TimeSpan Propagate)
{
    public double Sparsity => (double)Zeros / Math.Max(1, Weights);
    public TimeSpan Elapsed => Capture + Solve + Propagate;
}

public sealed record PruneResult(PruneMethod Method, SparsityPattern Pattern, IReadOnlyList<MatrixPruneStats> Matrices,
    IReadOnlyList<LayerPruneStats> Layers, long CalibrationTokens, TimeSpan Elapsed)
{
    public double Sparsity => (double)Layers.Sum(l => l.Zeros) / Math.Max(1, Layers.Sum(l => l.Weights));
    /// <summary>The engine that ran (Host or Device, never Auto).</summary>
    public PruneEngine Engine { get; init; } = PruneEngine.Host;
    /// <summary>Embedding the calibration samples before layer 0.</summary>
    public TimeSpan Embed { get; init; }
    /// <summary>Calibration forwards: capture (with statistics) plus propagation, summed over layers.</summary>
    public TimeSpan CalibrationForward => Layers.Aggregate(TimeSpan.Zero, (t, l) => t + l.Capture + l.Propagate);
    /// <summary>Scoring and mask selection, or SparseGPT's Hessian factors and OBS, summed over layers.</summary>
    public TimeSpan Solve => Layers.Aggregate(TimeSpan.Zero, (t, l) => t + l.Solve);

    public override string ToString() =>
        $"{Method} {Pattern}: {Sparsity:P2} of the adapted weights are zero ({Matrices.Count} matrices, {CalibrationTokens} calibration tokens, {Elapsed.TotalSeconds:F1} s)";
}
