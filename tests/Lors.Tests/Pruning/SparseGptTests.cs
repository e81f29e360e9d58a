// SparseGPT: the inverse-Hessian factor, and a linear-regression problem where the OBS weight update must beat
// every mask-only method (magnitude, Wanda, and SparseGPT's own mask without the update) at the same sparsity.
using Lors.Train.Pruning;

namespace Lors.Tests.Pruning;

public class SparseGptTests
{
    /// <summary>X [n, d] with correlated columns of different scales (X = Z A), so the Hessian matters.</summary>
    private static double[] Inputs(int n, int d, int seed)
    {
        var rng = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var a = new double[d * d];
        for (int i = 0; i < a.Length; i++) a[i] = Normal() * (i % (d + 1) == 0 ? 2 : 0.4);
        var x = new double[n * d];
        var z = new double[d];
        for (int r = 0; r < n; r++)
        {
            for (int k = 0; k < d; k++) z[k] = Normal() * (1 + k % 5);
            for (int j = 0; j < d; j++)
            {
                double s = 0;
                for (int k = 0; k < d; k++) s += z[k] * a[k * d + j];
                x[r * d + j] = s;
            }
        }
        return x;
    }

    private static double[] Gram(double[] x, int n, int d, bool hessian)
    {
        var h = new double[d * d];
        for (int r = 0; r < n; r++)
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) h[i * d + j] += x[r * d + i] * x[r * d + j];
        if (hessian) for (int i = 0; i < h.Length; i++) h[i] *= 2.0 / n;
        return h;
    }

    /// <summary>||X W^T - X W'^T||_F.</summary>
    private static double ReconstructionError(double[] x, int n, int d, float[] w, float[] w2, int rows)
    {
        double e = 0;
        for (int r = 0; r < n; r++)
            for (int o = 0; o < rows; o++)
            {
                double s = 0;
                for (int j = 0; j < d; j++) s += x[r * d + j] * (w[o * d + j] - w2[o * d + j]);
                e += s * s;
            }
        return Math.Sqrt(e);
    }

    [Fact]
    public void FactorIsUpperCholeskyOfInverse()
    {
        const int n = 300, d = 70;
        var h = Gram(Inputs(n, d, 1), n, d, hessian: true);
        var f = HessianFactor.Compute(h, d, 0.01);
        var u = f.Upper;
        double mean = Enumerable.Range(0, d).Average(i => h[i * d + i]);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < i; j++) Assert.Equal(0, u[i * d + j]);
        // (U^T U)(H + damp I) = I
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double s = 0;
                for (int k = 0; k < d; k++)
                {
                    double hinv = 0;
                    for (int m = 0; m <= Math.Min(i, k); m++) hinv += u[m * d + i] * u[m * d + k];
                    s += hinv * (h[k * d + j] + (k == j ? 0.01 * mean : 0));
                }
                Assert.Equal(i == j ? 1 : 0, s, 1e-8);
            }
    }

    [Fact]
    public void DeadColumnsArePrunedAndFactorSurvives()
    {
        const int n = 100, d = 12;
        var x = Inputs(n, d, 2);
        for (int r = 0; r < n; r++) x[r * d + 5] = 0;
        var f = HessianFactor.Compute(Gram(x, n, d, true), d, 0.01);
        Assert.True(f.Dead[5]);
        var w = ScorePruningTests.RandomMatrix(4, d, 1);
        SparseGpt.Prune(w, 4, d, f, new SparsityPattern.NM(2, 4), 128);
        for (int r = 0; r < 4; r++) Assert.Equal(0, w[r * d + 5]);
        Assert.Equal(0, SparsityCheck.CheckMatrix("w", w, 4, d, new SparsityPattern.NM(2, 4)).Violations);
    }

    [Theory]
    [InlineData("0.5", 128)]
    [InlineData("0.5", 16)]
    [InlineData("2:4", 128)]
    [InlineData("2:4", 16)]
    [InlineData("4:8", 24)]
    public void UpdateReducesReconstructionErrorBelowMaskOnlyMethods(string text, int blockSize)
    {
        var pattern = SparsityPattern.Parse(text);
        const int n = 400, d = 64, rows = 24;
        var x = Inputs(n, d, 7);
        var w = ScorePruningTests.RandomMatrix(rows, d, 8);
        var sumSq = Enumerable.Range(0, d).Select(j => Enumerable.Range(0, n).Sum(r => x[r * d + j] * x[r * d + j])).ToArray();

        var mag = (float[])w.Clone();
        ScorePruning.Magnitude(mag, rows, d, pattern, MagnitudeScope.PerRow);
        var wanda = (float[])w.Clone();
        ScorePruning.Wanda(wanda, rows, d, sumSq, pattern);
        var sgpt = (float[])w.Clone();
        SparseGpt.Prune(sgpt, rows, d, HessianFactor.Compute(Gram(x, n, d, true), d, 0.01), pattern, blockSize);
        var sgptMaskOnly = w.Select((v, i) => sgpt[i] == 0 ? 0f : v).ToArray();

        Assert.Equal(0, SparsityCheck.CheckMatrix("sgpt", sgpt, rows, d, pattern).Violations);
        Assert.Equal(SparsityPattern.ZerosFor(pattern.Ratio, rows * d), sgpt.Count(v => v == 0));
        double eMag = ReconstructionError(x, n, d, w, mag, rows), eWanda = ReconstructionError(x, n, d, w, wanda, rows);
        double eSgpt = ReconstructionError(x, n, d, w, sgpt, rows), eMask = ReconstructionError(x, n, d, w, sgptMaskOnly, rows);
        Assert.True(eSgpt < eWanda && eSgpt < eMag, $"SparseGPT {eSgpt:G4} vs Wanda {eWanda:G4}, magnitude {eMag:G4}");
        Assert.True(eSgpt < 0.9 * eMask, $"the OBS update must help: {eSgpt:G4} with it, {eMask:G4} with its mask alone");
        Assert.Contains(Enumerable.Range(0, w.Length), i => sgpt[i] != 0 && sgpt[i] != w[i]); // survivors moved
    }
}
