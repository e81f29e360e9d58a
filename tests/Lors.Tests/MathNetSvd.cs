// The tests' independent SVD reference: Math.NET Numerics (a maintained library, referenced by the tests only) on a
// row-major m x n double matrix, returning sigma [min(m,n)] descending and V^T [min(m,n), n] row-major.
using MathNet.Numerics.LinearAlgebra;

namespace Lors.Tests;

internal static class MathNetSvd
{
    public static (double[] sigma, double[] vt) Compute(double[] a, int m, int n)
    {
        var matrix = Matrix<double>.Build.Dense(m, n, (i, j) => a[i * n + j]);
        var svd = matrix.Svd(computeVectors: true);
        int k = Math.Min(m, n);
        var vt = new double[k * n];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < n; j++) vt[i * n + j] = svd.VT[i, j];
        return (svd.S.Take(k).ToArray(), vt);
    }

    /// <summary>|cos| between row i of x and row j of y (both [*, n] row-major): 1 when equal up to sign.</summary>
    public static double AbsCos(double[] x, int i, double[] y, int j, int n)
    {
        double dot = 0, nx = 0, ny = 0;
        for (int c = 0; c < n; c++)
        {
            dot += x[i * n + c] * y[j * n + c];
            nx += x[i * n + c] * x[i * n + c];
            ny += y[j * n + c] * y[j * n + c];
        }
        return Math.Abs(dot) / Math.Sqrt(nx * ny);
    }
}
