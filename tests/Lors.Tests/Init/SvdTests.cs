// Both SVDs (full one-sided Jacobi and randomized) against an independent reference, Math.NET Numerics' SVD, and the full
// SVD against its definition.
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
            var u = Enumerable.Range(0, m).Select(i => Lors.Tensors.Rng.Normal(seed + (ulong)r, i)).ToArray();
            var v = Enumerable.Range(0, n).Select(i => Lors.Tensors.Rng.Normal(seed + 1000 + (ulong)r, i)).ToArray();
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
    [InlineData(7, 5)]
    [InlineData(12, 20)]
    [InlineData(33, 17)]
    public void FullSvdMatchesMathNet(int m, int n)
    {
        var a = RandomMatrix(m, n, 7, 0.8);
        var (sigma, vt) = Svd.Full(a, m, n);
        var (sRef, vRef) = MathNetSvd.Compute(a, m, n);
        for (int i = 0; i < Math.Min(m, n); i++)
        {
            Assert.True(Math.Abs(sigma[i] - sRef[i]) < 1e-10 * sRef[0], $"sigma {i}: {sigma[i]:R} vs Math.NET {sRef[i]:R}");
            double cos = MathNetSvd.AbsCos(vt, i, vRef, i, n); // the spectrum decays by 0.8: every gap is wide
            Assert.True(Math.Abs(cos - 1) < 1e-9, $"vector {i}: |cos| = {cos:R}");
        }
    }

    [Theory]
    [InlineData(40, 30, 4)]
    [InlineData(64, 96, 8)]
    public void RandomizedMatchesMathNetOnTheTopSubspace(int m, int n, int r)
    {
        var a = RandomMatrix(m, n, 11, 0.6);
        var (sRef, vRef) = MathNetSvd.Compute(a, m, n);
        using var g = Tensor.FromArray(a, [m, n], dtype: DType.F32);
        var (sRand, vRand) = Svd.Randomized(g, r, seed: 5);
        for (int i = 0; i < r; i++)
        {
            // The input is rounded to fp32 (relative 6e-8) before the product; 1e-4 of sigma_0 is far above that.
            Assert.True(Math.Abs(sRand[i] - sRef[i]) < 1e-4 * sRef[0], $"sigma {i}: {sRand[i]} vs Math.NET {sRef[i]}");
            double cos = MathNetSvd.AbsCos(vRand, i, vRef, i, n);
            Assert.True(Math.Abs(cos - 1) < 1e-3, $"vector {i}: |cos| = {cos}");
        }
    }
}
