// Softmax and log-softmax over the last axis of x [rows, n], forward and backward; stable by max subtraction.
using System.Numerics;
using System.Numerics.Tensors;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void Softmax(Tensor x, Tensor y, bool log) => Widened([x], [y], (i, o) =>
    {
        if (IsF64(i[0])) SoftmaxT<double>(i[0], o[0], log); else SoftmaxT<float>(i[0], o[0], log);
    });

    private static void SoftmaxT<T>(Tensor xt, Tensor yt, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = xt.Shape[0], n = xt.Shape[1];
        if (n == 0) return;
        T* xp = (T*)Ptr(xt), yp = (T*)Ptr(yt);
        ParallelRows(rows, n, (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
            {
                var x = new ReadOnlySpan<T>(xp + r * n, n);
                var y = new Span<T>(yp + r * n, n);
                T max = TensorPrimitives.Max(x);
                TensorPrimitives.Subtract(x, max, y);
                if (log)
                {
                    // y holds x - max; log_softmax = x - max - log(sum(exp(x - max))).
                    T sum = SumExp<T>(y);
                    TensorPrimitives.Subtract(y, T.Log(sum), y);
                }
                else
                {
                    TensorPrimitives.Exp(y, y);
                    T sum = T.CreateTruncating(SumPairwise<T>(y));
                    TensorPrimitives.Multiply(y, T.One / sum, y);
                }
            }
        });
    }

    /// <summary>sum(exp(v)) without writing v, in blocks on the stack, accumulated in double.</summary>
    internal static T SumExp<T>(ReadOnlySpan<T> v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> tmp = stackalloc T[256];
        double s = 0;
        for (int i = 0; i < v.Length; i += 256)
        {
            int len = Math.Min(256, v.Length - i);
            TensorPrimitives.Exp(v.Slice(i, len), tmp[..len]);
            s += double.CreateTruncating(TensorPrimitives.Sum<T>(tmp[..len]));
        }
        return T.CreateTruncating(s);
    }

    public void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx, bool log) => Widened([y, gy], [gx], (i, o) =>
    {
        if (IsF64(i[0])) SoftmaxBackwardT<double>(i[0], i[1], o[0], log); else SoftmaxBackwardT<float>(i[0], i[1], o[0], log);
    });

    private static void SoftmaxBackwardT<T>(Tensor yt, Tensor gyt, Tensor gxt, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = yt.Shape[0], n = yt.Shape[1];
        if (n == 0) return;
        T* yp = (T*)Ptr(yt), gp = (T*)Ptr(gyt), op = (T*)Ptr(gxt);
        ParallelRows(rows, n, (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
            {
                var y = new ReadOnlySpan<T>(yp + r * n, n);
                var g = new ReadOnlySpan<T>(gp + r * n, n);
                var gx = new Span<T>(op + r * n, n);
                if (log)
                {
                    // gx = gy - softmax * sum(gy), softmax = exp(y).
                    T sum = T.CreateTruncating(SumPairwise(g));
                    TensorPrimitives.Exp(y, gx);
                    TensorPrimitives.MultiplyAdd(gx, -sum, g, gx);
                }
                else
                {
                    // gx = y * (gy - dot(gy, y)).
                    T dot = TensorPrimitives.Dot(g, y);
                    TensorPrimitives.Subtract(g, dot, gx);
                    TensorPrimitives.Multiply(gx, y, gx);
                }
            }
        });
    }
}
