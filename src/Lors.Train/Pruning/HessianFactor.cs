// SparseGPT's preconditioner: from H = 2/n X^T X [in, in] (double), the upper Cholesky factor U of H^-1
// (H^-1 = U^T U) after 1% dampening. Columns never seen by the calibration (H_ii = 0) are marked dead.
using System.Numerics.Tensors;

namespace Lors.Train.Pruning;

internal sealed class HessianFactor
{
    private HessianFactor(int n, double[] upper, bool[] dead, double damp)
    {
        N = n;
        Upper = upper;
        Dead = dead;
        Damp = damp;
    }

    public int N { get; }
    /// <summary>U [N, N] row-major, upper triangular, H^-1 = U^T U.</summary>
    public double[] Upper { get; }
    /// <summary>Input columns with zero calibration energy: their weights are pruned outright.</summary>
    public bool[] Dead { get; }
    public double Damp { get; }

    /// <summary>Factors H (not modified). Retries with 10x the dampening when H is not numerically positive definite.</summary>
    public static HessianFactor Compute(double[] hessian, int n, double dampening)
    {
        if (hessian.Length != (long)n * n) throw new ArgumentException($"Hessian has {hessian.Length} values, expected {n}x{n}");
        var h = (double[])hessian.Clone();
        var dead = new bool[n];
        double mean = 0;
        for (int i = 0; i < n; i++)
        {
            if (h[i * n + i] == 0) { dead[i] = true; h[i * n + i] = 1; }
            mean += h[i * n + i];
        }
        mean /= n;
        double frac = dampening;
        for (int attempt = 0; attempt < 4; attempt++, frac *= 10)
        {
            // Reversing the index order turns the ordinary lower Cholesky into the "upper-lower" one we need:
            // with J the reversal, J H J = L L^T gives H^-1 = U^T U for U = J L^-1 J (upper triangular).
            var r = new double[(long)n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) r[(long)(n - 1 - i) * n + (n - 1 - j)] = h[(long)i * n + j];
            for (int i = 0; i < n; i++) r[(long)i * n + i] += frac * mean;
            if (!CholeskyInPlace(r, n)) continue;
            var inv = InvertLower(r, n);
            var u = new double[(long)n * n];
            for (int i = 0; i < n; i++)
                for (int j = i; j < n; j++) u[(long)i * n + j] = inv[(long)(n - 1 - i) * n + (n - 1 - j)];
            return new HessianFactor(n, u, dead, frac * mean);
        }
        throw new InvalidOperationException($"SparseGPT: the calibration Hessian [{n}x{n}] is not positive definite even with {frac / 10:G2} x mean-diagonal dampening");
    }

    /// <summary>Lower Cholesky in place (upper triangle cleared), column by column; rows of one column in parallel when large.</summary>
    internal static bool CholeskyInPlace(double[] a, int n)
    {
        for (int j = 0; j < n; j++)
        {
            var rowJ = a.AsSpan(j * n, j);
            double d = a[(long)j * n + j] - TensorPrimitives.Dot<double>(rowJ, rowJ);
            if (!(d > 0) || double.IsNaN(d)) return false;
            double ljj = Math.Sqrt(d);
            a[(long)j * n + j] = ljj;
            void Row(int i)
            {
                var rowI = a.AsSpan(i * n, j);
                a[(long)i * n + j] = (a[(long)i * n + j] - TensorPrimitives.Dot<double>(rowI, a.AsSpan(j * n, j))) / ljj;
            }
            if ((long)(n - j) * j > 1 << 16) Parallel.For(j + 1, n, Row);
            else for (int i = j + 1; i < n; i++) Row(i);
        }
        for (int i = 0; i < n; i++) Array.Clear(a, i * n + i + 1, n - i - 1);
        return true;
    }

    /// <summary>X = L^-1 for lower-triangular L: row i of X is -(sum_k<i L_ik X_k) / L_ii plus 1/L_ii on the diagonal.</summary>
    internal static double[] InvertLower(double[] l, int n)
    {
        var x = new double[(long)n * n];
        // Column blocks of X are independent (X e_j only needs L), so split the columns over threads.
        int threads = Math.Max(1, Math.Min(Environment.ProcessorCount, n / 64));
        Parallel.For(0, threads, t =>
        {
            int c0 = (int)((long)n * t / threads), c1 = (int)((long)n * (t + 1) / threads);
            for (int i = c0; i < n; i++)
            {
                var xi = x.AsSpan(i * n + c0, Math.Min(i, c1) - c0 < 0 ? 0 : Math.Min(i, c1) - c0);
                for (int k = c0; k < i; k++)
                {
                    double lik = l[(long)i * n + k];
                    if (lik == 0) continue;
                    int width = Math.Min(k + 1, c1) - c0;
                    if (width <= 0) continue;
                    TensorPrimitives.MultiplyAdd(x.AsSpan(k * n + c0, width), lik, xi[..width], xi[..width]);
                }
                double inv = 1 / l[(long)i * n + i];
                for (int c = 0; c < xi.Length; c++) xi[c] *= -inv;
                if (i < c1) x[(long)i * n + i] = inv;
            }
        });
        return x;
    }
}
