// Rotate-half RoPE as Hugging Face Llama on x, y [B, H, T, D] with cos/sin [T, D]; inverse = the exact transpose.
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

    private static void RopeT<T>(Tensor xt, Tensor ct, Tensor st, Tensor yt, bool inverse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int t = xt.Shape[2], d = xt.Shape[3], h = d / 2;
        long rows = xt.Numel / Math.Max(1, d);
        T* xp = (T*)Ptr(xt), cp = (T*)Ptr(ct), sp = (T*)Ptr(st), yp = (T*)Ptr(yt);
        ParallelRows(rows, d, (r0, r1) =>
        {
            Span<T> tmp = h <= 512 ? stackalloc T[h] : new T[h];
            for (long r = r0; r < r1; r++)
            {
                long pos = r % t;
                var xl = new ReadOnlySpan<T>(xp + r * d, h);
                var xh = new ReadOnlySpan<T>(xp + r * d + h, h);
                var yl = new Span<T>(yp + r * d, h);
                var yh = new Span<T>(yp + r * d + h, h);
                var cl = new ReadOnlySpan<T>(cp + pos * d, h);
                var ch = new ReadOnlySpan<T>(cp + pos * d + h, h);
                var sl = new ReadOnlySpan<T>(sp + pos * d, h);
                var sh = new ReadOnlySpan<T>(sp + pos * d + h, h);
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
        });
    }
}
