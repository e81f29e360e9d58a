// Reductions over each axis (and over all), argmax, and matrix products: odd shapes, every transpose combination,
// alpha/beta, batched, a 2-D operand broadcast over the batch, transposed views as operands.
using Lors.Tensors;

namespace Lors.Tests.Backend;

public abstract partial class BackendSuite
{
    [BackendFact]
    public void ReduceOverEachAxis() => ForEachLevel(() =>
    {
        int[] shape = [7, 13, 5];
        foreach (var dt in FloatTypes)
        {
            var x = Round(Rand(7 * 13 * 5, 5), dt);
            using var xt = Make(x, shape, dt);
            foreach (var op in Enum.GetValues<ReduceOp>())
                for (int axis = 0; axis < 3; axis++)
                {
                    using var y = Ops.Reduce(op, xt, axis);
                    int outer = shape[..axis].Aggregate(1, (p, v) => p * v), n = shape[axis], inner = shape[(axis + 1)..].Aggregate(1, (p, v) => p * v);
                    var e = new double[outer * inner];
                    for (int o = 0; o < outer; o++)
                        for (int i = 0; i < inner; i++)
                        {
                            var vals = Enumerable.Range(0, n).Select(k => x[(o * n + k) * inner + i]).ToArray();
                            e[o * inner + i] = op switch
                            {
                                ReduceOp.Sum => vals.Sum(), ReduceOp.Mean => vals.Average(), ReduceOp.Max => vals.Max(),
                                ReduceOp.Min => vals.Min(), _ => vals.Sum(v => v * v),
                            };
                        }
                    // Reductions accumulate in double from the stored inputs, so F32/BF16 outputs are F32-accurate.
                    Close(e, y, dt == DType.F64 ? 1e-12 : 1e-5, $"{op} axis {axis} {dt}", 0.2);
                }
            using var all = Ops.SumAll(xt);
            Assert.Empty(all.Shape);
            Close([x.Sum()], all, dt == DType.F64 ? 1e-12 : 1e-5, $"SumAll {dt}", 0.5);
            using var keep = Ops.Sum(xt, -1, keepDim: true);
            Assert.Equal([7, 13, 1], keep.Shape);
        }
        // Every length through the vectorized row path.
        for (int n = 1; n <= 67; n++)
        {
            var x = Round(Rand(2 * n, n), DType.F32);
            using var xt = Make(x, [2, n], DType.F32);
            using var s = Ops.Sum(xt, 1);
            using var mx = Ops.Max(xt, 1);
            using var am = Ops.ArgMax(xt);
            Close([x[..n].Sum(), x[n..].Sum()], s, 1e-5, $"sum n={n}", 0.5);
            Close([x[..n].Max(), x[n..].Max()], mx, 0.0, $"max n={n}");
            Assert.Equal([Array.IndexOf(x[..n], x[..n].Max()), Array.IndexOf(x[n..], x[n..].Max())], am.ToIntArray());
        }
    });

    [BackendFact]
    public void ArgMaxTiesGiveTheFirstIndex()
    {
        using var x = Make([1, 3, 3, 2, 5, 5, 5, 0], [2, 4], DType.F32);
        using var a = Ops.ArgMax(x);
        Assert.Equal([1, 0], a.ToIntArray());
    }

    private static double[] MatMulRef(double[] a, int[] sa, bool ta, double[] b, int[] sb, bool tb, int batch, int m, int n, int k)
    {
        var c = new double[Math.Max(batch, 1) * m * n];
        long strideA = sa.Length == 3 ? (long)sa[1] * sa[2] : 0, strideB = sb.Length == 3 ? (long)sb[1] * sb[2] : 0;
        int lda = sa[^1], ldb = sb[^1];
        for (int p = 0; p < Math.Max(batch, 1); p++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int q = 0; q < k; q++)
                        s += a[p * strideA + (ta ? q * lda + i : i * lda + q)] * b[p * strideB + (tb ? j * ldb + q : q * ldb + j)];
                    c[(p * m + i) * n + j] = s;
                }
        return c;
    }

    private void CheckMatMul(int batchA, int batchB, int m, int n, int k, bool ta, bool tb, DType dt, float alpha = 1, float beta = 0)
    {
        int[] Shape(int batch, int r, int c) => batch > 0 ? [batch, r, c] : [r, c];
        var sa = ta ? Shape(batchA, k, m) : Shape(batchA, m, k);
        var sb = tb ? Shape(batchB, n, k) : Shape(batchB, k, n);
        var a = Round(Rand((int)Tensor.NumelOf(sa), m * 7 + k), dt);
        var b = Round(Rand((int)Tensor.NumelOf(sb), n * 5 + k), dt);
        int batch = Math.Max(batchA, batchB);
        var e = MatMulRef(a, sa, ta, b, sb, tb, batch, m, n, k);
        using var at = Make(a, sa, dt);
        using var bt = Make(b, sb, dt);
        // The CPU widens 16-bit products to F32; CUDA returns the inputs' dtype (fp32 accumulation, one rounding at the end).
        var cdt = dt == DType.F64 ? DType.F64 : Device.IsCpu || dt == DType.F32 ? DType.F32 : dt;
        string what = $"matmul {dt} a{Tensor.ShapeString(sa)}{(ta ? "^T" : "")} b{Tensor.ShapeString(sb)}{(tb ? "^T" : "")} alpha={alpha} beta={beta}";
        // Products accumulate in fp32 (or better): relative error grows like sqrt(K) * 6e-8; 1e-5 with a floor of 5% of the max.
        double tol = dt == DType.F64 ? 1e-10 : cdt == DType.F32 ? 2e-5 : Tol(cdt);
        if (beta == 0)
        {
            using var c = Ops.MatMul(at, bt, ta, tb);
            Assert.Equal(cdt, c.DType);
            if (alpha == 1) { Close(e, c, tol, what); return; }
        }
        var c0 = Rand(e.Length, 99);
        using var ct = Make(c0, batch > 0 ? [batch, m, n] : [m, n], cdt);
        Ops.MatMulInto(at, bt, ct, ta, tb, alpha, beta);
        Close(e.Select((v, i) => alpha * v + beta * Round(c0[i], cdt)).ToArray(), ct, tol, what);
    }

    [BackendFact]
    public void MatMulOddShapesAllTransposes()
    {
        foreach (var dt in FloatTypes)
            foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 13, 5), (65, 129, 33), (3, 17, 64) })
                for (int t = 0; t < 4; t++)
                    CheckMatMul(0, 0, m, n, k, (t & 1) != 0, (t & 2) != 0, dt);
    }

    [BackendFact]
    public void MatMulAlphaBetaBatchedAndBroadcast()
    {
        foreach (var dt in FloatTypes)
            for (int t = 0; t < 4; t++)
            {
                bool ta = (t & 1) != 0, tb = (t & 2) != 0;
                CheckMatMul(0, 0, 9, 11, 6, ta, tb, dt, alpha: 0.5f, beta: -1.5f);
                CheckMatMul(3, 3, 5, 7, 9, ta, tb, dt);
                CheckMatMul(3, 0, 5, 7, 9, ta, tb, dt, alpha: 2, beta: 0.5f);
                CheckMatMul(0, 4, 6, 3, 8, ta, tb, dt);
            }
    }

    [BackendFact]
    public void MatMulBetaZeroIgnoresNaNAndTakesTransposedViews()
    {
        var a = Rand(6 * 4, 1);
        var b = Rand(4 * 5, 2);
        using var at = Make(a, [6, 4], DType.F32);
        using var bt = Make(b, [4, 5], DType.F32);
        using var c = Make(Enumerable.Repeat(double.NaN, 30).ToArray(), [6, 5], DType.F32);
        Ops.MatMulInto(at, bt, c);
        var e = MatMulRef(a, [6, 4], false, b, [4, 5], false, 0, 6, 5, 4);
        Close(e, c, 1e-5, "beta=0 with NaN in c");
        // a^T as a view [4, 6] -> (a^T)^T @ ... : pass at.T() with transA = true, same product.
        using var aT = at.T();
        using var c2 = Ops.MatMul(aT, bt, transA: true);
        Close(e, c2, 1e-5, "transposed view operand");
        // A non-contiguous narrowed operand is copied.
        using var wide = Make(Rand(6 * 9, 3), [6, 9], DType.F32);
        using var nar = wide.Narrow(1, 3, 4);
        using var c3 = Ops.MatMul(nar, bt);
        var nd = nar.ToDoubleArray();
        Close(MatMulRef(nd, [6, 4], false, b, [4, 5], false, 0, 6, 5, 4), c3, 1e-5, "narrowed operand");
        // Batched transposed view [B, K, M] -> [B, M, K].
        using var a3 = Make(Rand(2 * 4 * 6, 4), [2, 4, 6], DType.F32);
        using var a3T = a3.Transpose(1, 2);
        using var c4 = Ops.MatMul(a3T, bt);
        Close(MatMulRef(a3.ToDoubleArray(), [2, 4, 6], true, b, [4, 5], false, 2, 6, 5, 4), c4, 1e-5, "batched transposed view");
    }
}
