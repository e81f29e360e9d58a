// SwiGLU gate: y = silu(gate) * up over gate, up, y [rows, C] (any shape, elementwise); forward and backward.
using System.Numerics;
using System.Numerics.Tensors;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    private const int Block = 256;

    public void SwiGlu(Tensor gate, Tensor up, Tensor y) => Widened([gate, up], [y], (i, o) =>
    {
        if (IsF64(i[0])) SwiGluT<double>(i[0], i[1], o[0]); else SwiGluT<float>(i[0], i[1], o[0]);
    });

    private static void SwiGluT<T>(Tensor gt, Tensor ut, Tensor yt) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* gp = (T*)Ptr(gt), up = (T*)Ptr(ut), yp = (T*)Ptr(yt);
        Chunks(gt.Numel, (a, b) =>
        {
            var g = new ReadOnlySpan<T>(gp + a, b - a);
            var y = new Span<T>(yp + a, b - a);
            TensorPrimitives.Sigmoid(g, y);
            TensorPrimitives.Multiply(y, g, y);
            TensorPrimitives.Multiply(y, new ReadOnlySpan<T>(up + a, b - a), y);
        });
    }

    public void SwiGluBackward(Tensor gate, Tensor up, Tensor gy, Tensor gGate, Tensor gUp) => Widened([gate, up, gy], [gGate, gUp], (i, o) =>
    {
        if (IsF64(i[0])) SwiGluBackwardT<double>(i[0], i[1], i[2], o[0], o[1]); else SwiGluBackwardT<float>(i[0], i[1], i[2], o[0], o[1]);
    });

    private static void SwiGluBackwardT<T>(Tensor gt, Tensor ut, Tensor gyt, Tensor ggt, Tensor gut) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* gp = (T*)Ptr(gt), up = (T*)Ptr(ut), yp = (T*)Ptr(gyt), ggp = (T*)Ptr(ggt), gup = (T*)Ptr(gut);
        Chunks(gt.Numel, (a, b) =>
        {
            Span<T> s = stackalloc T[Block];
            Span<T> t = stackalloc T[Block];
            for (int i = a; i < b; i += Block)
            {
                int n = Math.Min(Block, b - i);
                var g = new ReadOnlySpan<T>(gp + i, n);
                var u = new ReadOnlySpan<T>(up + i, n);
                var gy = new ReadOnlySpan<T>(yp + i, n);
                var sg = s[..n];
                var tt = t[..n];
                TensorPrimitives.Sigmoid(g, sg);
                // gUp = gy * g * s
                var gu = new Span<T>(gup + i, n);
                TensorPrimitives.Multiply(g, sg, gu);
                TensorPrimitives.Multiply(gu, gy, gu);
                // gGate = gy * u * s * (1 + g (1 - s))
                TensorPrimitives.Subtract(T.One, sg, tt);
                TensorPrimitives.MultiplyAdd(g, tt, T.One, tt);
                TensorPrimitives.Multiply(tt, sg, tt);
                TensorPrimitives.Multiply(tt, u, tt);
                TensorPrimitives.Multiply(tt, gy, new Span<T>(ggp + i, n));
            }
        });
    }
}
