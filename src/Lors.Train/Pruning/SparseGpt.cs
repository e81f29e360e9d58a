// SparseGPT (Frantar & Alistarh 2023) on one row-major weight [rows, cols]: columns left to right in blocks;
// inside a block each row is pruned column by column and the OBS update moves the error onto the block's
// later columns; after the block its errors reach all later columns at once (lazy batch update, one GEMM).
using System.Numerics.Tensors;
using Lors.Tensors;
using Tensor = Lors.Tensors.Tensor;

namespace Lors.Train.Pruning;

internal static unsafe class SparseGpt
{
    /// <summary>Prunes w in place to the pattern and returns the OBS loss estimate sum (w - q)^2 / (2 U_ii^2).</summary>
    public static double Prune(float[] w, int rows, int cols, HessianFactor f, SparsityPattern pattern, int blockSize)
    {
        if (f.N != cols) throw new ArgumentException($"SparseGPT: Hessian is {f.N}x{f.N} for a matrix with {cols} columns");
        int m = pattern is SparsityPattern.NM nm0 ? nm0.M : 1;
        int bs = Math.Max(m, blockSize - blockSize % m); // N:M groups must not straddle blocks
        var u = f.Upper;
        for (int j = 0; j < cols; j++)
            if (f.Dead[j]) for (int r = 0; r < rows; r++) w[(long)r * cols + j] = 0;

        double loss = 0;
        var block = new double[(long)rows * bs];
        var err = new float[(long)rows * bs];
        var prune = new bool[(long)rows * bs];
        var uDiag = new double[bs];
        using var _ = TensorScope.Detached();
        using var deltaBuf = Tensor.Empty([rows * Math.Max(cols - bs, 1)], DType.F32, Device.Cpu);
        for (int i1 = 0; i1 < cols; i1 += bs)
        {
            int i2 = Math.Min(cols, i1 + bs), count = i2 - i1;
            for (int i = 0; i < count; i++) uDiag[i] = u[(long)(i1 + i) * cols + i1 + i];
            Parallel.For(0, rows, r =>
            {
                for (int i = 0; i < count; i++) block[(long)r * count + i] = w[(long)r * cols + i1 + i];
            });
            Array.Clear(prune);
            if (pattern is SparsityPattern.Unstructured un)
                ChooseBlockMask(block, rows, count, uDiag, SparsityPattern.ZerosFor(un.Value, (long)rows * i2) - SparsityPattern.ZerosFor(un.Value, (long)rows * i1), prune);

            var rowLoss = new double[rows];
            Parallel.For(0, rows, r =>
            {
                var b = block.AsSpan(r * count, count);
                var pr = prune.AsSpan(r * count, count);
                double l = 0;
                for (int i = 0; i < count; i++)
                {
                    if (pattern is SparsityPattern.NM nm && i % nm.M == 0) ChooseGroupMask(b, uDiag, i, nm, pr);
                    double wi = b[i], q = pr[i] ? 0 : wi, d = uDiag[i];
                    double e = (wi - q) / d;
                    l += e * e / 2;
                    // OBS: the remaining columns of this block absorb the error along row i of U.
                    if (e != 0 && i + 1 < count)
                        TensorPrimitives.MultiplyAdd(u.AsSpan((i1 + i) * cols + i1 + i + 1, count - i - 1), -e, b[(i + 1)..], b[(i + 1)..]);
                    b[i] = q;
                    err[(long)r * count + i] = (float)e;
                }
                rowLoss[r] = l;
                for (int i = 0; i < count; i++) w[(long)r * cols + i1 + i] = pr[i] ? 0f : (float)b[i];
            });
            loss += rowLoss.Sum();
            if (i2 < cols) LazyUpdate(w, rows, cols, i1, i2, err, u, deltaBuf);
        }
        return loss;
    }

    /// <summary>W[:, i2:] -= Err [rows, count] @ U[i1:i2, i2:] through the fp32 GEMM.</summary>
    private static void LazyUpdate(float[] w, int rows, int cols, int i1, int i2, float[] err, double[] u, Tensor deltaBuf)
    {
        int count = i2 - i1, rest = cols - i2;
        var ub = new float[(long)count * rest];
        for (int i = 0; i < count; i++)
            for (int j = 0; j < rest; j++) ub[(long)i * rest + j] = (float)u[(long)(i1 + i) * cols + i2 + j];
        using var e = Tensor.FromArray(err.AsSpan(0, rows * count).ToArray(), [rows, count]);
        using var uT = Tensor.FromArray(ub, [count, rest]);
        using var flat = deltaBuf.Narrow(0, 0, rows * rest);
        using var delta = flat.Reshape(rows, rest);
        Ops.MatMulInto(e, uT, delta);
        float* d = (float*)((CpuStorage)delta.Storage).Pointer + delta.Offset;
        Parallel.For(0, rows, r =>
        {
            var dst = w.AsSpan(r * cols + i2, rest);
            TensorPrimitives.Subtract(dst, new ReadOnlySpan<float>(d + (long)r * rest, rest), dst);
        });
    }

    /// <summary>Unstructured: marks the k weights of the block with the lowest w^2 / U_ii^2 (ties in index order).</summary>
    private static void ChooseBlockMask(double[] block, int rows, int count, double[] uDiag, long k, bool[] prune)
    {
        var scores = new float[(long)rows * count];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < count; i++)
            {
                double v = block[(long)r * count + i] / uDiag[i];
                scores[(long)r * count + i] = (float)(v * v);
            }
        var ones = new float[scores.Length];
        Array.Fill(ones, 1f);
        ScorePruning.ZeroLowest(ones, scores, 0, ones.Length, k);
        for (int i = 0; i < ones.Length; i++) prune[i] = ones[i] == 0;
    }

    /// <summary>N:M: in columns i..i+M of one row, marks the M-N lowest w^2 / U_ii^2 (weights as updated so far).</summary>
    private static void ChooseGroupMask(Span<double> row, double[] uDiag, int i, SparsityPattern.NM nm, Span<bool> prune)
    {
        Span<float> s = stackalloc float[nm.M];
        Span<float> keep = stackalloc float[nm.M];
        for (int j = 0; j < nm.M; j++)
        {
            double v = row[i + j] / uDiag[i + j];
            s[j] = (float)(v * v);
            keep[j] = 1;
        }
        for (int p = 0; p < nm.M - nm.N; p++)
        {
            int best = -1;
            for (int j = 0; j < nm.M; j++)
                if (keep[j] != 0 && (best < 0 || s[j] < s[best])) best = j;
            keep[best] = 0;
            prune[i + best] = true;
        }
    }
}
