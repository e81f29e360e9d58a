// Rotate-half RoPE as Hugging Face Llama on x, y [B, H, T, D] with cos/sin [T, D]; inverse = the exact transpose.
// RopeSwap also swaps axes 1 and 2 (x [B, T, H, D] <-> y [B, H, T, D]) in the same pass.
// Forward: y_lo = x_lo cos_lo - x_hi sin_lo, y_hi = x_hi cos_hi + x_lo sin_hi (lo = first D/2, hi = last D/2).
using System.Numerics;
using System.Numerics.Tensors;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void Rope(Tensor x, Tensor cos, Tensor sin, Tensor y, bool inverse) => Widened([x, cos, sin], [y], (i, o) =>
    {
        if (IsF64(i[0])) RopeT<double>(i[0], i[1], i[2], o[0], inverse); else RopeT<float>(i[0], i[1], i[2], o[0], inverse);
    });

    public void RopeSwap(Tensor x, Tensor cos, Tensor sin, Tensor y, bool inverse, bool tokensFirst) => Widened([x, cos, sin], [y], (i, o) =>
    {
        if (IsF64(i[0])) RopeT<double>(i[0], i[1], i[2], o[0], inverse, swap: true, tokensFirst);
        else RopeT<float>(i[0], i[1], i[2], o[0], inverse, swap: true, tokensFirst);
    });

    /// <summary>
    /// Rows of y (its first three axes flattened) rotated from rows of x. swap: y [B, Y1, Y2, D] reads x [B, Y2, Y1, D],
    /// and the position is Y2's index when tokensFirst (y is [B, H, T, D]) or Y1's (y is [B, T, H, D]).
    /// </summary>
    private static void RopeT<T>(Tensor xt, Tensor ct, Tensor st, Tensor yt, bool inverse, bool swap = false, bool tokensFirst = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = yt.Shape[3], h = d / 2, y1 = yt.Shape[1], y2 = yt.Shape[2];
        long rows = yt.Numel / Math.Max(1, d);
        T* xp = (T*)Ptr(xt), cp = (T*)Ptr(ct), sp = (T*)Ptr(st), yp = (T*)Ptr(yt);
        ParallelRows(rows, d, (r0, r1) =>
        {
            Span<T> tmp = h <= 512 ? stackalloc T[h] : new T[h];
            for (long r = r0; r < r1; r++)
            {
                long j = r % y2, i = r / y2 % y1, b = r / ((long)y1 * y2);
                long src = swap ? (b * y2 + j) * y1 + i : r;
                long pos = !swap || tokensFirst ? j : i;
                RotateRow(xp + src * d, yp + r * d, cp + pos * d, sp + pos * d, h, inverse, tmp);
            }
        });
    }

    /// <summary>One row of D = 2h values: forward y_lo = x_lo c_lo - x_hi s_lo, y_hi = x_hi c_hi + x_lo s_hi, or its transpose.</summary>
    private static void RotateRow<T>(T* xr, T* yr, T* cr, T* sr, int h, bool inverse, Span<T> tmp) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var xl = new ReadOnlySpan<T>(xr, h);
        var xh = new ReadOnlySpan<T>(xr + h, h);
        var yl = new Span<T>(yr, h);
        var yh = new Span<T>(yr + h, h);
        var cl = new ReadOnlySpan<T>(cr, h);
        var ch = new ReadOnlySpan<T>(cr + h, h);
        var sl = new ReadOnlySpan<T>(sr, h);
        var sh = new ReadOnlySpan<T>(sr + h, h);
        if (!inverse)
        {
            TensorPrimitives.Multiply(xh, sl, tmp);
            TensorPrimitives.Multiply(xl, cl, yl);
            TensorPrimitives.Subtract(yl, tmp, yl);
            TensorPrimitives.Multiply(xh, ch, yh);
            TensorPrimitives.MultiplyAdd(xl, sh, yh, yh);
        }
        else
        {
            // Transpose of the forward map: gx_lo = c_lo g_lo + s_hi g_hi, gx_hi = c_hi g_hi - s_lo g_lo.
            TensorPrimitives.Multiply(xl, sl, tmp);
            TensorPrimitives.Multiply(xl, cl, yl);
            TensorPrimitives.MultiplyAdd(xh, sh, yl, yl);
            TensorPrimitives.Multiply(xh, ch, yh);
            TensorPrimitives.Subtract(yh, tmp, yh);
        }
    }
}
