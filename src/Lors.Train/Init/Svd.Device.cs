// The randomized SVD with its tall-skinny work on the matrix's device: every product with g [m, n] and every
// orthonormalization of an [m, l] or [n, l] block (l = 4r) is a GEMM there (cuBLAS on the GPU, exact fp32); only
// l x l factors travel to the host (Cholesky, triangular inverse, symmetric eigen in double). Same algorithm and
// same sketch as Svd.Randomized (its slow reference, which orthonormalizes on the host by Gram-Schmidt).
using Lors.Tensors;

namespace Lors.Train.Init;

public static partial class Svd
{
    /// <summary>Top-r singular values and right singular vectors vt [r, n] (F32, on g's device) of g [m, n] F32.</summary>
    public static (double[] sigma, Tensor vt) RandomizedOnDevice(Tensor g, int r, ulong seed, int oversample = 4, int powerIterations = 4)
    {
        if (g.Rank != 2 || g.DType != DType.F32) throw new ArgumentException($"randomized SVD: expected an F32 matrix, got {Tensor.ShapeString(g.Shape)} {g.DType.Name()}", nameof(g));
        int m = g.Shape[0], n = g.Shape[1];
        int l = Math.Min(oversample * r, Math.Min(m, n));
        if (r > l) throw new ArgumentOutOfRangeException(nameof(r), $"rank {r} exceeds min(m, n) = {Math.Min(m, n)} of the gradient [{m}, {n}]");
        Tensor vt;
        double[] sigma;
        using (var scope = TensorScope.Begin())
        {
            var omega = Ops.RandomNormal([n, l], seed, 0, 1, DType.F32, g.Device);
            var q = OrthonormalOnDevice(Ops.MatMul(g, omega));                          // [m, l]
            for (int it = 0; it < powerIterations; it++)
            {
                var z = OrthonormalOnDevice(Ops.MatMul(g, q, transA: true));            // [n, l] = orth(g^T q)
                q = OrthonormalOnDevice(Ops.MatMul(g, z));                              // [m, l] = orth(g z)
            }
            // g ~ q bs with bs = q^T g [l, n]; the right singular vectors of bs are g's: from the eigenvectors of bs bs^T.
            var bs = Ops.MatMul(q, g, transA: true);
            var gram = Ops.MatMul(bs, bs, transB: true).ToDoubleArray();               // [l, l]
            var (values, vectors) = SymmetricEigen(gram, l);
            sigma = new double[r];
            var proj = new float[l * r];                                                 // [l, r]: eigenvector t / sigma_t
            for (int t = 0; t < r; t++)
            {
                sigma[t] = Math.Sqrt(Math.Max(values[t], 0));
                double inv = sigma[t] > 1e-300 ? 1 / sigma[t] : 0;
                for (int i = 0; i < l; i++) proj[i * r + t] = (float)(vectors[i * l + t] * inv);
            }
            var p = Tensor.FromArray(proj, [l, r], g.Device);
            using (TensorScope.Detached()) vt = Ops.MatMul(p, bs, transA: true);         // [r, n]
        }
        return (sigma, vt);
    }

    /// <summary>
    /// An orthonormal basis of y's columns, y [rows, cols] F32 on any device, by Cholesky QR repeated until the columns
    /// are orthonormal to fp32 accuracy (CholeskyQR2; a shifted first pass when y is too ill-conditioned for Cholesky,
    /// making it shifted CholeskyQR3). q = y R^-1 with R's diagonal positive: the same q as Gram-Schmidt gives.
    /// </summary>
    public static Tensor OrthonormalOnDevice(Tensor y)
    {
        int cols = y.Shape[1];
        var q = y;
        // fp32 Gram matrices of tall blocks are exact to about sqrt(rows) x 6e-8: stop once q^T q is that close to I.
        for (int pass = 0; pass < 4; pass++)
        {
            var gram = Ops.MatMul(q, q, transA: true).ToDoubleArray();                   // [cols, cols]
            if (pass >= 2 && NearIdentity(gram, cols, 1e-4)) break;
            var rinv = UpperInverseOfCholesky(gram, cols);
            q = Ops.MatMul(q, Tensor.FromArray(rinv, [cols, cols], y.Device, DType.F32));
        }
        return q;
    }

    private static bool NearIdentity(double[] a, int n, double tol)
    {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (Math.Abs(a[i * n + j] - (i == j ? 1 : 0)) > tol) return false;
        return true;
    }

    /// <summary>R^-1 for the Cholesky factor R (upper, a = R^T R) of a symmetric positive semi-definite a [n, n], in
    /// double. Where a is not numerically positive definite (rank-deficient or ill-conditioned columns), a shift of
    /// 1e-5 x trace / n goes onto the diagonal (shifted CholeskyQR); a column that is entirely zero maps to zero.</summary>
    internal static double[] UpperInverseOfCholesky(double[] a, int n)
    {
        double trace = 0;
        for (int i = 0; i < n; i++) trace += a[i * n + i];
        var r = TryCholesky(a, n, 0)
            ?? TryCholesky(a, n, 1e-5 * trace / n)
            ?? throw new ArithmeticException("randomized SVD: Cholesky of the Gram matrix failed even with a shift");
        // Invert the upper-triangular r by back substitution, column by column.
        var inv = new double[n * n];
        for (int j = 0; j < n; j++)
        {
            if (r[j * n + j] == 0) continue;
            inv[j * n + j] = 1 / r[j * n + j];
            for (int i = j - 1; i >= 0; i--)
            {
                if (r[i * n + i] == 0) continue;
                double s = 0;
                for (int k = i + 1; k <= j; k++) s += r[i * n + k] * inv[k * n + j];
                inv[i * n + j] = -s / r[i * n + i];
            }
        }
        return inv;
    }

    /// <summary>Upper R with R^T R = a + shift I, or null when a pivot is not clearly positive.</summary>
    private static double[]? TryCholesky(double[] a, int n, double shift)
    {
        double scale = 0;
        for (int i = 0; i < n; i++) scale = Math.Max(scale, a[i * n + i]);
        var r = new double[n * n];
        for (int j = 0; j < n; j++)
        {
            double d = a[j * n + j] + shift;
            for (int k = 0; k < j; k++) d -= r[k * n + j] * r[k * n + j];
            if (scale == 0 && a[j * n + j] == 0) continue;                              // an all-zero block: leave zero
            if (!(d > (shift > 0 ? 0 : 1e-7 * scale))) return null;                       // below fp32 Gram noise
            double rjj = Math.Sqrt(d);
            r[j * n + j] = rjj;
            for (int i = j + 1; i < n; i++)
            {
                double s = a[j * n + i];
                for (int k = 0; k < j; k++) s -= r[k * n + j] * r[k * n + i];
                r[j * n + i] = s / rjj;
            }
        }
        return r;
    }
}
