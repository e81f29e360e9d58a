// SparseGPT's preconditioner on the device, in fp32: from the accumulated X^T X [n, n], H = 2/tokens X^T X, dead
// columns (H_jj = 0) and 1% dampening on the diagonal, and U [n, n] upper with H^-1 = U^T U (as HessianFactor on
// the host). Blocked from the last block row up: H = V V^T (V upper), U = V^-1, one GEMM-sized step per block.
using Lors.Tensors;

namespace Lors.Train.Pruning;

internal sealed class DeviceHessianFactor : IDisposable
{
    /// <summary>Rows per diagonal block (the one-block Cholesky kernel's size).</summary>
    public const int Block = 128;

    private DeviceHessianFactor(int n, Tensor upper, bool[] dead, float[] diagonal, double damp)
    {
        N = n;
        Upper = upper;
        Dead = dead;
        UpperDiagonal = diagonal;
        Damp = damp;
    }

    public int N { get; }
    /// <summary>U [N, N] F32 on the device, upper triangular, H^-1 = U^T U.</summary>
    public Tensor Upper { get; }
    public bool[] Dead { get; }
    /// <summary>U_jj on the host (the OBS denominators).</summary>
    public float[] UpperDiagonal { get; }
    public double Damp { get; }

    public void Dispose() => Upper.Dispose();

    /// <summary>Factors 2/tokens * gram (not modified); retries with 10x the dampening when a pivot is not positive.</summary>
    public static DeviceHessianFactor Compute(Tensor gram, long tokens, double dampening)
    {
        int n = gram.Shape[0];
        if (gram.Rank != 2 || gram.Shape[1] != n) throw new ArgumentException($"SparseGPT: X^T X must be square, got {Tensor.ShapeString(gram.Shape)}");
        if (tokens <= 0) throw new InvalidOperationException("no calibration tokens reached this layer");
        using var _ = TensorScope.Detached();
        using var h = Ops.Scale(gram, 2.0 / tokens);
        var diag = Diagonal(h);
        var dead = new bool[n];
        double mean = 0;
        for (int i = 0; i < n; i++)
        {
            if (diag[i] == 0) dead[i] = true;
            mean += dead[i] ? 1 : diag[i];
        }
        mean /= n;
        double frac = dampening;
        for (int attempt = 0; attempt < 4; attempt++, frac *= 10)
        {
            var u = Tensor.Zeros([n, n], DType.F32, gram.Device);
            if (TryFactor(h, u, dead, frac * mean))
                return new DeviceHessianFactor(n, u, dead, Diagonal(u), frac * mean);
            u.Dispose();
        }
        throw new InvalidOperationException($"SparseGPT: the calibration Hessian [{n}x{n}] is not positive definite even with {frac / 10:G2} x mean-diagonal dampening");
    }

    /// <summary>
    /// For each block row i from the last: V_i = H[i, :] U[r1:, :]^T (U's columns left of r1 are zero), the block's
    /// S = H_ii + damp - V_i V_i^T, U_ii = V_ii^-1 from S = V_ii V_ii^T, U[i, :] += -U_ii V_i U[r1:, :].
    /// </summary>
    private static bool TryFactor(Tensor h, Tensor u, bool[] dead, double damp)
    {
        int n = h.Shape[0];
        for (int r0 = (n - 1) / Block * Block; r0 >= 0; r0 -= Block)
        {
            using var scope = TensorScope.Begin();
            int kb = Math.Min(Block, n - r0), r1 = r0 + kb, m = n - r1;
            var hRow = h.Narrow(0, r0, kb);
            var uRow = u.Narrow(0, r0, kb);
            var add = new float[kb * kb];
            for (int i = 0; i < kb; i++) add[i * kb + i] = (float)(damp + (dead[r0 + i] ? 1 : 0));
            var s = Ops.Add(hRow.Narrow(1, r0, kb), Tensor.FromArray(add, [kb, kb], h.Device));
            Tensor? t = null;
            if (m > 0)
            {
                var below = u.Narrow(0, r1, m);
                var v = Ops.MatMul(hRow, below, transB: true);
                s = Ops.Sub(s, Ops.MatMul(v, v, transB: true));
                t = Ops.MatMul(v, below);
            }
            if (Ops.InverseCholeskyBlock(s, uRow.Narrow(1, r0, kb)) != 0) return false;
            if (t is not null) Ops.MatMulInto(uRow.Narrow(1, r0, kb), t, uRow, alpha: -1f, beta: 1f);
        }
        return true;
    }

    /// <summary>The diagonal of a contiguous square matrix: rows of length n + 1 start at the diagonal elements.</summary>
    internal static float[] Diagonal(Tensor a)
    {
        int n = a.Shape[0];
        var d = new float[n];
        if (n == 0) return d;
        using var flat = a.Reshape(n * n);
        if (n > 1)
        {
            using var head = flat.Narrow(0, 0, (n - 1) * (n + 1));
            using var grid = head.Reshape(n - 1, n + 1);
            using var col = grid.Narrow(1, 0, 1);
            col.ToFloatArray().CopyTo(d, 0);
        }
        using var last = flat.Narrow(0, n * n - 1, 1);
        d[n - 1] = last.ToFloatArray()[0];
        return d;
    }
}
