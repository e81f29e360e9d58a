// Magnitude and Wanda on the weight's own device, through backend ops: scores |W| [* ||X_j||] in fp32 [rows, cols],
// the keep-mask from Ops.MaskLowest (per matrix, per row, or per group of M as rows of M), and W *= mask in place.
// Scores and tie-breaking equal ScorePruning's host path bit for bit, so the masks are identical.
using Lors.Tensors;

namespace Lors.Train.Pruning;

internal static class DeviceScorePruning
{
    public static void Magnitude(Tensor weight, SparsityPattern pattern, MagnitudeScope scope)
    {
        using var scope0 = TensorScope.Begin();
        var scores = Ops.Abs(AsF32(weight));
        Apply(weight, scores, pattern, perMatrix: scope == MagnitudeScope.PerMatrix);
    }

    /// <summary>Wanda: |W_ij| * sqrt(columnSumSquares_j), the norm rounded to fp32 as on the host.</summary>
    public static void Wanda(Tensor weight, double[] columnSumSquares, SparsityPattern pattern)
    {
        int cols = weight.Shape[1];
        if (columnSumSquares.Length != cols) throw new ArgumentException($"Wanda: {columnSumSquares.Length} column norms for {cols} columns");
        using var scope = TensorScope.Begin();
        var norm = new float[cols];
        for (int j = 0; j < cols; j++) norm[j] = (float)Math.Sqrt(columnSumSquares[j]);
        var n = Tensor.FromArray(norm, [1, cols], weight.Device);
        var scores = Ops.Mul(Ops.Abs(AsF32(weight)), n);
        Apply(weight, scores, pattern, perMatrix: false);
    }

    /// <summary>Zeros the lowest scores of weight [rows, cols] by the pattern (unstructured: per matrix or per row).</summary>
    internal static void Apply(Tensor weight, Tensor scores, SparsityPattern pattern, bool perMatrix)
    {
        int rows = weight.Shape[0], cols = weight.Shape[1];
        var dev = weight.Device;
        Tensor keep;
        switch (pattern)
        {
            case SparsityPattern.Unstructured u when perMatrix:
                keep = Ops.MaskLowest(scores.Reshape(1, rows * cols), Tensor.FromArray([checked((int)SparsityPattern.ZerosFor(u.Value, (long)rows * cols))], [1], dev));
                break;
            case SparsityPattern.Unstructured u:
                var counts = new int[rows];
                for (int r = 0; r < rows; r++)
                    counts[r] = (int)(SparsityPattern.ZerosFor(u.Value, (long)cols * (r + 1)) - SparsityPattern.ZerosFor(u.Value, (long)cols * r));
                keep = Ops.MaskLowest(scores, Tensor.FromArray(counts, [rows], dev));
                break;
            case SparsityPattern.NM nm:
                keep = Ops.MaskLowest(scores.Reshape(rows * cols / nm.M, nm.M), Tensor.FromArray([nm.M - nm.N], [1], dev));
                break;
            default:
                throw new ArgumentException($"unknown pattern {pattern}", nameof(pattern));
        }
        Ops.CopyInto(Ops.MaskedFill(weight, keep.Reshape(rows, cols)), weight);
    }

    /// <summary>Zeros of a [rows, cols] matrix, counted on its device (row sums of the non-zero mask are exact in fp32).</summary>
    public static long CountZeros(Tensor weight) => weight.Numel - Ops.CountNonZero(weight);

    /// <summary>The weight in fp32 (a copy; owned by the current scope).</summary>
    internal static Tensor AsF32(Tensor weight) => weight.To(DType.F32);
}
