// The randomized SVD against the full (one-sided Jacobi) SVD on small matrices, and the full SVD against its definition.
using Lors.Tensors;
using Lors.Train.Init;

namespace Lors.Tests.Init;

public sealed class SvdTests
{
    private static double[] RandomMatrix(int m, int n, ulong seed, double decay)
    {
        // A matrix with a decaying spectrum (like gradients): sum_k s_k u_k v_k^T with s_k = decay^k.
        var a = new double[m * n];
        int k = Math.Min(m, n);
        for (int r = 0; r < k; r++)
        {
            double s = Math.Pow(decay, r);
            var u = Enumerable.Range(0, m).Select(i => Lors.Tensors.Cpu.Rng.Normal(seed + (ulong)r, i)).ToArray();
            var v = Enumerable.Range(0, n).Select(i => Lors.Tensors.Cpu.Rng.Normal(seed + 1000 + (ulong)r, i)).ToArray();
            for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) a[i * n + j] += s * u[i] * v[j] / Math.Sqrt(m * n);
        }
        return a;
    }

    [Theory]
    [InlineData(7, 5)]
    [InlineData(12, 20)]
    public void FullSvdReconstructsAndIsOrthonormal(int m, int n)
    {
        var a = RandomMatrix(m, n, 3, 0.8);
        var (sigma, vt) = Svd.Full(a, m, n);
        int k = Math.Min(m, n);
        for (int i = 1; i < k; i++) Assert.True(sigma[i] <= sigma[i - 1] + 1e-12);
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++)
            {
                double dot = 0;
                for (int c = 0; c < n; c++) dot += vt[i * n + c] * vt[j * n + c];
                Assert.Equal(i == j ? 1.0 : 0.0, dot, 9);
            }
        // ||A v_i|| = sigma_i for every right singular vector.
        for (int i = 0; i < k; i++)
        {
            double norm = 0;
            for (int r = 0; r < m; r++)
            {
                double s = 0;
                for (int c = 0; c < n; c++) s += a[r * n + c] * vt[i * n + c];
                norm += s * s;
            }
            Assert.Equal(sigma[i], Math.Sqrt(norm), 9);
        }
    }

    [Theory]
    [InlineData(40, 30, 4)]
    [InlineData(64, 96, 8)]
    public void RandomizedMatchesFullOnTheTopSubspace(int m, int n, int r)
    {
        var a = RandomMatrix(m, n, 11, 0.6);
        var (sFull, vFull) = Svd.Full(a, m, n);
        using var g = Tensor.FromArray(a, [m, n], dtype: DType.F32);
        var (sRand, vRand) = Svd.Randomized(g, r, seed: 5);
        for (int i = 0; i < r; i++)
        {
            Assert.True(Math.Abs(sRand[i] - sFull[i]) < 1e-4 * sFull[0], $"sigma {i}: {sRand[i]} vs {sFull[i]}");
            // Singular vectors agree up to sign.
            double dot = 0;
            for (int c = 0; c < n; c++) dot += vRand[i * n + c] * vFull[i * n + c];
            Assert.True(Math.Abs(Math.Abs(dot) - 1) < 1e-3, $"vector {i}: |cos| = {Math.Abs(dot)}");
        }
    }
}
