// RMSNorm over the last axis: x, y [rows, C], w [C], rstd [rows] (F32, or F64 for F64 x); forward and backward.
// Sums of squares accumulate in double; rstd is kept in the statistics type.
using System.Numerics;
using System.Numerics.Tensors;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void RmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd) => Widened([x, w], [y, rstd], (i, o) =>
    {
        if (IsF64(i[0])) RmsNormT<double>(i[0], i[1], eps, o[0], o[1]); else RmsNormT<float>(i[0], i[1], eps, o[0], o[1]);
    });

    private static void RmsNormT<T>(Tensor xt, Tensor wt, float eps, Tensor yt, Tensor rt) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = xt.Shape[0], c = xt.Shape[1];
        T* xp = (T*)Ptr(xt), wp = (T*)Ptr(wt), yp = (T*)Ptr(yt), rp = (T*)Ptr(rt);
        ParallelRows(rows, c, (r0, r1) =>
        {
            var w = new ReadOnlySpan<T>(wp, c);
            for (long r = r0; r < r1; r++)
            {
                var x = new ReadOnlySpan<T>(xp + r * c, c);
                var y = new Span<T>(yp + r * c, c);
                double ms = c == 0 ? 0 : SumSquares(x) / c;
                T rs = T.CreateTruncating(1.0 / Math.Sqrt(ms + eps));
                rp[r] = rs;
                TensorPrimitives.Multiply(x, w, y);
                TensorPrimitives.Multiply(y, rs, y);
            }
        });
    }

    public void RmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor gy, Tensor gx, Tensor gw) =>
        Widened([x, w, rstd, gy, gw], [gx, gw], (i, o) =>
        {
            if (IsF64(i[0])) RmsNormBackwardT<double>(i[0], i[1], i[2], i[3], o[0], o[1]);
            else RmsNormBackwardT<float>(i[0], i[1], i[2], i[3], o[0], o[1]);
        });

    private static void RmsNormBackwardT<T>(Tensor xt, Tensor wt, Tensor rt, Tensor gyt, Tensor gxt, Tensor gwt) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = xt.Shape[0], c = xt.Shape[1];
        T* xp = (T*)Ptr(xt), wp = (T*)Ptr(wt), rp = (T*)Ptr(rt), gp = (T*)Ptr(gyt), gxp = (T*)Ptr(gxt), gwp = (T*)Ptr(gwt);
        // gx = r * (w*gy) - x * r^3 / C * sum(w*gy*x), per row.
        ParallelRows(rows, c, (r0, r1) =>
        {
            var w = new ReadOnlySpan<T>(wp, c);
            for (long r = r0; r < r1; r++)
            {
                var x = new ReadOnlySpan<T>(xp + r * c, c);
                var gx = new Span<T>(gxp + r * c, c);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(gp + r * c, c), w, gx);
                double dot = c == 0 ? 0 : double.CreateTruncating(TensorPrimitives.Dot<T>(gx, x));
                double rs = double.CreateTruncating(rp[r]);
                T coef = T.CreateTruncating(-dot * rs * rs * rs / c);
                TensorPrimitives.Multiply(gx, T.CreateTruncating(rs), gx);
                TensorPrimitives.MultiplyAdd(x, coef, gx, gx);
            }
        });
        // gw[j] += sum_r gy[r, j] x[r, j] rstd[r]: split over columns so the sum order is fixed (deterministic).
        ParallelRows(c, rows, (c0, c1) =>
        {
            int len = (int)(c1 - c0);
            var gw = new Span<T>(gwp + c0, len);
            Span<T> tmp = len <= 512 ? stackalloc T[len] : new T[len];
            for (long r = 0; r < rows; r++)
            {
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(gp + r * c + c0, len), new ReadOnlySpan<T>(xp + r * c + c0, len), tmp);
                TensorPrimitives.MultiplyAdd(tmp, rp[r], gw, gw);
            }
        });
    }
}
