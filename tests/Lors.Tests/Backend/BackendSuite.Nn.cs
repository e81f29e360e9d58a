// Neural-network ops against naive references: softmax / log-softmax, RMSNorm, RoPE, SwiGLU (forward and backward),
// at every row length 0..67 where the kernel vectorizes over the row, in F32, BF16 and F64.
using Lors.Tensors;

namespace Lors.Tests.Backend;

public abstract partial class BackendSuite
{
    [BackendFact]
    public void SoftmaxForwardBackwardAtEveryLength() => ForEachLevel(() =>
    {
        foreach (var dt in FloatTypes)
            foreach (bool log in new[] { false, true })
                for (int n = 1; n <= 67; n += dt == DType.F32 ? 1 : 6)
                {
                    int rows = 3;
                    var x = Rand(rows * n, n, -8, 8);
                    x[0] += 80; // a large logit: only stable with max subtraction
                    x = Round(x, dt);
                    var gy = Round(Rand(rows * n, n + 100), dt);
                    var y = new double[rows * n];
                    var gx = new double[rows * n];
                    for (int r = 0; r < rows; r++)
                    {
                        var row = x.Skip(r * n).Take(n).ToArray();
                        double mx = row.Max(), lse = mx + Math.Log(row.Sum(v => Math.Exp(v - mx)));
                        for (int j = 0; j < n; j++) y[r * n + j] = log ? row[j] - lse : Math.Exp(row[j] - lse);
                    }
                    var yIn = Round(y, dt);
                    var mag = new double[rows * n]; // sum of |terms| of each gx element
                    for (int r = 0; r < rows; r++)
                    {
                        double dot = 0, sum = 0, dotAbs = 0, sumAbs = 0;
                        for (int j = 0; j < n; j++)
                        {
                            dot += gy[r * n + j] * yIn[r * n + j]; sum += gy[r * n + j];
                            dotAbs += Math.Abs(gy[r * n + j] * yIn[r * n + j]); sumAbs += Math.Abs(gy[r * n + j]);
                        }
                        for (int j = 0; j < n; j++)
                        {
                            double yj = yIn[r * n + j], g = gy[r * n + j];
                            gx[r * n + j] = log ? g - Math.Exp(yj) * sum : yj * (g - dot);
                            mag[r * n + j] = log ? Math.Abs(g) + Math.Exp(yj) * sumAbs : Math.Abs(yj) * (Math.Abs(g) + dotAbs);
                        }
                    }
                    using var xt = Make(x, [rows, n], dt);
                    using var yt = Ops.Softmax(xt, log);
                    Close(y, yt, dt, $"softmax log={log} {dt} n={n}");
                    using var yi = Make(yIn, [rows, n], dt);
                    using var gt = Make(gy, [rows, n], dt);
                    using var gxt = Ops.SoftmaxBackward(yi, gt, log);
                    CloseTerms(gx, mag, gxt, Tol(dt) * 2, $"softmax' log={log} {dt} n={n}");
                }
    });

    [BackendFact]
    public void RmsNormForwardBackwardAtEveryLength() => ForEachLevel(() =>
    {
        const float eps = 1e-5f;
        foreach (var dt in FloatTypes)
            for (int c = 1; c <= 67; c += dt == DType.F32 ? 1 : 6)
            {
                int rows = 5;
                var x = Round(Rand(rows * c, c, -2, 2), dt);
                var w = Round(Rand(c, c + 1, 0.5, 1.5), dt);
                var gy = Round(Rand(rows * c, c + 2), dt);
                var y = new double[rows * c];
                var rstd = new double[rows];
                var gx = new double[rows * c];
                var gw = new double[c];
                var gxMag = new double[rows * c]; // sums of |terms| of each gradient element
                var gwMag = new double[c];
                for (int r = 0; r < rows; r++)
                {
                    double ms = 0;
                    for (int j = 0; j < c; j++) ms += x[r * c + j] * x[r * c + j];
                    double rs = rstd[r] = 1 / Math.Sqrt(ms / c + eps);
                    double dot = 0, dotAbs = 0;
                    for (int j = 0; j < c; j++)
                    {
                        y[r * c + j] = x[r * c + j] * rs * w[j];
                        dot += gy[r * c + j] * w[j] * x[r * c + j];
                        dotAbs += Math.Abs(gy[r * c + j] * w[j] * x[r * c + j]);
                    }
                    for (int j = 0; j < c; j++)
                    {
                        gx[r * c + j] = rs * w[j] * gy[r * c + j] - x[r * c + j] * rs * rs * rs * dot / c;
                        gxMag[r * c + j] = Math.Abs(rs * w[j] * gy[r * c + j]) + Math.Abs(x[r * c + j]) * rs * rs * rs * dotAbs / c;
                        gw[j] += gy[r * c + j] * x[r * c + j] * rs;
                        gwMag[j] += Math.Abs(gy[r * c + j] * x[r * c + j] * rs);
                    }
                }
                using var xt = Make(x, [rows, c], dt);
                using var wt = Make(w, [c], dt);
                var (yt, rt) = Ops.RmsNorm(xt, wt, eps);
                using (yt)
                using (rt)
                {
                    Assert.Equal(dt == DType.F64 ? DType.F64 : DType.F32, rt.DType);
                    Close(y, yt, dt, $"rmsnorm {dt} c={c}");
                    Close(rstd, rt, dt == DType.F64 ? 1e-12 : 1e-6, $"rstd {dt} c={c}");
                    using var gt = Make(gy, [rows, c], dt);
                    var (gxt, gwt) = Ops.RmsNormBackward(xt, wt, rt, gt);
                    using (gxt)
                    using (gwt)
                    {
                        CloseTerms(gx, gxMag, gxt, Tol(dt) * 2, $"rmsnorm gx {dt} c={c}");
                        CloseTerms(gw, gwMag, gwt, dt == DType.BF16 ? 1e-5 : Tol(dt), $"rmsnorm gw {dt} c={c}");
                    }
                }
            }
    });

    [BackendFact]
    public void RopeMatchesRotateHalfAndInverseIsTranspose() => ForEachLevel(() =>
    {
        foreach (var dt in FloatTypes)
            foreach (var (b, h, t, d) in new[] { (1, 1, 1, 2), (2, 3, 5, 8), (1, 2, 7, 34), (1, 1, 3, 128) })
            {
                var x = Round(Rand(b * h * t * d, d + t), dt);
                // Distinct halves of cos/sin (not the usual duplicated frequencies) so the exact transpose is tested.
                var cos = Round(Rand(t * d, 7 + d), dt);
                var sin = Round(Rand(t * d, 8 + d), dt);
                int half = d / 2;
                var y = new double[x.Length];
                var yi = new double[x.Length];
                for (int row = 0; row < b * h * t; row++)
                {
                    int p = row % t, o = row * d;
                    for (int i = 0; i < d; i++)
                    {
                        double c = cos[p * d + i], s = sin[p * d + i];
                        y[o + i] = i < half ? x[o + i] * c - x[o + i + half] * s : x[o + i] * c + x[o + i - half] * s;
                    }
                    // Inverse = transpose of the forward map M: yi = M^T x.
                    for (int i = 0; i < d; i++) yi[o + i] = x[o + i] * cos[p * d + i];
                    for (int i = 0; i < half; i++)
                    {
                        yi[o + i + half] -= x[o + i] * sin[p * d + i];
                        yi[o + i] += x[o + i + half] * sin[p * d + i + half];
                    }
                }
                using var xt = Make(x, [b, h, t, d], dt);
                using var ct = Make(cos, [t, d], dt);
                using var st = Make(sin, [t, d], dt);
                using var yt = Ops.Rope(xt, ct, st);
                using var yit = Ops.Rope(xt, ct, st, inverse: true);
                Close(y, yt, dt, $"rope {dt} d={d}");
                Close(yi, yit, dt, $"rope inverse {dt} d={d}");
            }
    });

    [BackendFact]
    public void SwiGluForwardBackwardAtEveryLength() => ForEachLevel(() =>
    {
        foreach (var dt in FloatTypes)
            for (int n = 0; n <= 67; n += dt == DType.F32 ? 1 : 6)
            {
                var g = Round(Rand(n, n, -4, 4), dt);
                var u = Round(Rand(n, n + 1), dt);
                var gy = Round(Rand(n, n + 2), dt);
                double S(double v) => 1 / (1 + Math.Exp(-v));
                using var gt = Make(g, [n], dt);
                using var ut = Make(u, [n], dt);
                using var yt = Ops.SwiGlu(gt, ut);
                Close(g.Select((v, i) => v * S(v) * u[i]).ToArray(), yt, dt, $"swiglu {dt} n={n}");
                using var gyt = Make(gy, [n], dt);
                var (gg, gu) = Ops.SwiGluBackward(gt, ut, gyt);
                using (gg)
                using (gu)
                {
                    Close(g.Select((v, i) => gy[i] * u[i] * S(v) * (1 + v * (1 - S(v)))).ToArray(), gg, dt, $"swiglu gGate {dt} n={n}");
                    Close(g.Select((v, i) => gy[i] * v * S(v)).ToArray(), gu, dt, $"swiglu gUp {dt} n={n}");
                }
            }
        // Rows of a 2-D tensor larger than one parallel chunk.
        var big = Rand(300 * 257, 5);
        using var bg = Make(big, [300, 257], DType.F32);
        using var bu = Make(big.Reverse().ToArray(), [300, 257], DType.F32);
        using var by = Ops.SwiGlu(bg, bu);
        var br = big.Reverse().ToArray();
        Close(big.Select((v, i) => (float)v / (1 + Math.Exp(-(float)v)) * (float)br[i]).ToArray(), by, 1e-5, "swiglu big");
    });

    [BackendFact]
    public void NnOpsAcceptNonContiguousViews()
    {
        // A transposed [5, 9] view of a [9, 5] tensor and an expanded row: the facade copies, results equal the dense op.
        var x = Rand(45, 1);
        using var base_ = Make(x, [9, 5], DType.F32);
        using var xT = base_.T();
        using var dense = xT.Contiguous();
        using var s1 = Ops.Softmax(xT);
        using var s2 = Ops.Softmax(dense);
        Close(s2.ToDoubleArray(), s1, 0.0, "softmax of a transposed view");
        using var w = Make(Rand(9, 2, 0.5, 1.5), [9], DType.F32);
        var (y1, r1) = Ops.RmsNorm(xT, w, 1e-5f);
        var (y2, r2) = Ops.RmsNorm(dense, w, 1e-5f);
        using (y1) using (r1) using (y2) using (r2) Close(y2.ToDoubleArray(), y1, 0.0, "rmsnorm of a transposed view");
        using var row = Make(Rand(9, 3), [1, 9], DType.F32);
        using var ex = row.Expand(4, 9);
        using var nd = xT.Narrow(0, 0, 4);
        using var g1 = Ops.SwiGlu(ex, nd);
        using var exd = ex.Contiguous();
        using var ndd = nd.Contiguous();
        using var g2 = Ops.SwiGlu(exd, ndd);
        Close(g2.ToDoubleArray(), g1, 0.0, "swiglu of expanded and narrowed views");
    }

    [BackendFact]
    public void RopeSwapEqualsPermuteThenRope() => ForEachLevel(() =>
    {
        foreach (var dt in FloatTypes)
            foreach (var (b, t, h, d) in new[] { (1, 1, 1, 2), (2, 5, 3, 8), (1, 9, 2, 34), (2, 3, 4, 64) })
            {
                var cosv = Rand(t * d, t + d);
                var sinv = Rand(t * d, t + d + 1);
                using var cos = Make(Round(cosv, dt), [t, d], dt);
                using var sin = Make(Round(sinv, dt), [t, d], dt);
                using var x = Make(Round(Rand(b * t * h * d, b + t + h + d), dt), [b, t, h, d], dt);
                foreach (var inverse in new[] { false, true })
                {
                    // Forward layout: x [B, T, H, D] -> [B, H, T, D].
                    using var p = x.Permute(0, 2, 1, 3);
                    using var want = Ops.Rope(p, cos, sin, inverse);
                    using var got = Ops.RopeSwap(x, cos, sin, inverse, tokensFirst: true);
                    Assert.Equal(want.Shape, got.Shape);
                    Close(want.ToDoubleArray(), got, dt == DType.F64 ? 1e-15 : 1e-7, $"ropeswap tokens-first {dt} [{b},{t},{h},{d}] inverse={inverse}");
                    // Backward layout: [B, H, T, D] -> [B, T, H, D].
                    using var hx = x.Reshape(b, h, t, d);
                    using var r = Ops.Rope(hx, cos, sin, inverse);
                    using var rp = r.Permute(0, 2, 1, 3);
                    using var got2 = Ops.RopeSwap(hx, cos, sin, inverse, tokensFirst: false);
                    Assert.Equal([b, t, h, d], got2.Shape);
                    Close(rp.ToDoubleArray(), got2, dt == DType.F64 ? 1e-15 : 1e-7, $"ropeswap heads-first {dt} [{b},{h},{t},{d}] inverse={inverse}");
                }
            }
    });
}
