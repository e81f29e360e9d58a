// Dense linear algebra in double on the host: Gram-Schmidt QR, the symmetric Jacobi eigensolver, a full SVD
// (one-sided Jacobi, the slow reference) and the randomized SVD that the gradient init uses.
// Matrices are row-major double[rows * cols].
using Lors.Tensors;

namespace Lors.Train.Init;

public static partial class Svd
{
    /// <summary>Orthonormalizes the columns of y [m, l] in place (modified Gram-Schmidt, applied twice for stability).</summary>
    public static void OrthonormalizeColumns(double[] y, int m, int l)
    {
        for (int pass = 0; pass < 2; pass++)
            for (int j = 0; j < l; j++)
            {
                for (int k = 0; k < j; k++)
                {
                    double dot = 0;
                    for (int i = 0; i < m; i++) dot += y[i * l + j] * y[i * l + k];
                    for (int i = 0; i < m; i++) y[i * l + j] -= dot * y[i * l + k];
                }
                double norm = 0;
                for (int i = 0; i < m; i++) norm += y[i * l + j] * y[i * l + j];
                norm = Math.Sqrt(norm);
                double inv = norm > 1e-300 ? 1 / norm : 0;
                for (int i = 0; i < m; i++) y[i * l + j] *= inv;
            }
    }

    /// <summary>Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi: values descending, vectors as columns.</summary>
    public static (double[] values, double[] vectors) SymmetricEigen(double[] a, int n)
    {
        var s = (double[])a.Clone();
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) off += s[i * n + j] * s[i * n + j];
            if (off < 1e-30) break;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = s[p * n + q];
                    if (Math.Abs(apq) < 1e-300) continue;
                    double theta = (s[q * n + q] - s[p * n + p]) / (2 * apq);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), sn = t * c;
                    RotateColumns(s, n, n, p, q, c, sn);
                    RotateRows(s, n, p, q, c, sn);
                    RotateColumns(v, n, n, p, q, c, sn);
                }
        }
        var order = Enumerable.Range(0, n).OrderByDescending(i => s[i * n + i]).ToArray();
        var values = order.Select(i => s[i * n + i]).ToArray();
        var vectors = new double[n * n];
        for (int j = 0; j < n; j++) for (int i = 0; i < n; i++) vectors[i * n + j] = v[i * n + order[j]];
        return (values, vectors);
    }

    /// <summary>
    /// Full SVD of a [m, n] by one-sided Jacobi (slow, exact to double precision): singular values descending and
    /// the right singular vectors as rows of vt [k, n], k = min(m, n). The reference the randomized SVD is tested against.
    /// </summary>
    public static (double[] sigma, double[] vt) Full(double[] a, int m, int n)
    {
        // Work on the columns of a^T a's square root: rotate columns of u = a (m x n) until they are orthogonal.
        var u = (double[])a.Clone();
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        for (int sweep = 0; sweep < 60; sweep++)
        {
            bool rotated = false;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double alpha = 0, beta = 0, gamma = 0;
                    for (int i = 0; i < m; i++)
                    {
                        alpha += u[i * n + p] * u[i * n + p];
                        beta += u[i * n + q] * u[i * n + q];
                        gamma += u[i * n + p] * u[i * n + q];
                    }
                    if (Math.Abs(gamma) <= 1e-15 * Math.Sqrt(alpha * beta) || gamma == 0) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.Sign(zeta == 0 ? 1 : zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                    double c = 1 / Math.Sqrt(1 + t * t), s = c * t;
                    RotateColumns(u, m, n, p, q, c, s);
                    RotateColumns(v, n, n, p, q, c, s);
                }
            if (!rotated) break;
        }
        var norms = new double[n];
        for (int j = 0; j < n; j++) { double s = 0; for (int i = 0; i < m; i++) s += u[i * n + j] * u[i * n + j]; norms[j] = Math.Sqrt(s); }
        int k = Math.Min(m, n);
        var order = Enumerable.Range(0, n).OrderByDescending(j => norms[j]).Take(k).ToArray();
        var sigma = order.Select(j => norms[j]).ToArray();
        var vt = new double[k * n];
        for (int r = 0; r < k; r++) for (int i = 0; i < n; i++) vt[r * n + i] = v[i * n + order[r]];
        return (sigma, vt);
    }

    /// <summary>Applies the plane rotation (c, s) to columns p and q of x [rows, cols].</summary>
    private static void RotateColumns(double[] x, int rows, int cols, int p, int q, double c, double s)
    {
        for (int i = 0; i < rows; i++)
        {
            double xp = x[i * cols + p], xq = x[i * cols + q];
            x[i * cols + p] = c * xp - s * xq;
            x[i * cols + q] = s * xp + c * xq;
        }
    }

    /// <summary>Applies the plane rotation (c, s) to rows p and q of x [n, n].</summary>
    private static void RotateRows(double[] x, int n, int p, int q, double c, double s)
    {
        for (int k = 0; k < n; k++)
        {
            double xp = x[p * n + k], xq = x[q * n + k];
            x[p * n + k] = c * xp - s * xq;
            x[q * n + k] = s * xp + c * xq;
        }
    }

    /// <summary>
    /// Top-r right singular vectors (rows of vt [r, n]) and singular values of g [m, n] (an F32 tensor on any device)
    /// by randomized SVD: a Gaussian sketch with <paramref name="oversample"/> x r columns and power iterations.
    /// The large products run on the tensor's device; the small factorizations in double on the host.
    /// </summary>
    public static (double[] sigma, double[] vt) Randomized(Tensor g, int r, ulong seed, int oversample = 4, int powerIterations = 4)
    {
        int m = g.Shape[0], n = g.Shape[1];
        int l = Math.Min(oversample * r, Math.Min(m, n));
        if (r > l) throw new ArgumentOutOfRangeException(nameof(r), $"rank {r} exceeds min(m, n) = {Math.Min(m, n)} of the gradient [{m}, {n}]");
        using var scope = TensorScope.Begin();
        var omega = Ops.RandomNormal([n, l], seed, 0, 1, DType.F32, g.Device);
        var q = Orthonormal(Ops.MatMul(g, omega), m, l);                   // [m, l]
        for (int it = 0; it < powerIterations; it++)
        {
            var z = Orthonormal(Ops.MatMul(g, q, transA: true), n, l);    // [n, l] = orth(g^T q)
            q = Orthonormal(Ops.MatMul(g, z), m, l);                       // [m, l] = orth(g z)
        }
        var bs = Ops.MatMul(q, g, transA: true).ToDoubleArray();           // [l, n] = q^T g
        var gram = new double[l * l];
        for (int i = 0; i < l; i++)
            for (int j = i; j < l; j++)
            {
                double s = 0;
                for (int k = 0; k < n; k++) s += bs[i * n + k] * bs[j * n + k];
                gram[i * l + j] = gram[j * l + i] = s;
            }
        var (values, vectors) = SymmetricEigen(gram, l);
        var sigma = new double[r];
        var vt = new double[r * n];
        for (int t = 0; t < r; t++)
        {
            sigma[t] = Math.Sqrt(Math.Max(values[t], 0));
            double inv = sigma[t] > 1e-300 ? 1 / sigma[t] : 0;
            for (int k = 0; k < n; k++)
            {
                double s = 0;
                for (int i = 0; i < l; i++) s += vectors[i * l + t] * bs[i * n + k];
                vt[t * n + k] = s * inv;
            }
        }
        return (sigma, vt);
    }

    private static Tensor Orthonormal(Tensor y, int rows, int cols)
    {
        var h = y.ToDoubleArray();
        OrthonormalizeColumns(h, rows, cols);
        return Tensor.FromArray(h, [rows, cols], y.Device, DType.F32);
    }
}
