// AdamW on param, m, v (F32, or F64) with grad (F32/BF16/F16/F64), all the same shape; decoupled weight decay
// and bias correction as in IBackend. Blocks of 256 elements run through TensorPrimitives with stack scratch.
using System.Numerics;
using System.Numerics.Tensors;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWArgs args)
    {
        if (m.DType != param.DType || v.DType != param.DType || param.DType is not (DType.F32 or DType.F64))
            throw new ArgumentException($"AdamW: param, m and v must share dtype F32 (or F64), got {param.DType.Name()}, {m.DType.Name()}, {v.DType.Name()}");
        if (args.Step < 1) throw new ArgumentOutOfRangeException(nameof(args), $"AdamW: step {args.Step} must count from 1");
        using var g = grad.DType == param.DType ? null : grad.To(param.DType);
        if (param.DType == DType.F64) AdamWT<double>(param, g ?? grad, m, v, args); else AdamWT<float>(param, g ?? grad, m, v, args);
    }

    private static void AdamWT<T>(Tensor pt, Tensor gt, Tensor mt, Tensor vt, AdamWArgs a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* pp = (T*)Ptr(pt), gp = (T*)Ptr(gt), mp = (T*)Ptr(mt), vp = (T*)Ptr(vt);
        T b1 = T.CreateTruncating(a.Beta1), b2 = T.CreateTruncating(a.Beta2);
        T c1 = T.CreateTruncating(1.0 - a.Beta1), c2 = T.CreateTruncating(1.0 - a.Beta2);
        T invBc1 = T.CreateTruncating(1.0 / (1.0 - Math.Pow(a.Beta1, a.Step)));
        T invBc2 = T.CreateTruncating(1.0 / (1.0 - Math.Pow(a.Beta2, a.Step)));
        T eps = T.CreateTruncating(a.Eps), wd = T.CreateTruncating(a.WeightDecay), negLr = T.CreateTruncating(-a.Lr);
        T gs = T.CreateTruncating(a.GradScale);
        Chunks(pt.Numel, (s, e) =>
        {
            Span<T> g = stackalloc T[Block];
            Span<T> u = stackalloc T[Block];
            for (int i = s; i < e; i += Block)
            {
                int n = Math.Min(Block, e - i);
                var gg = g[..n];
                var uu = u[..n];
                var p = new Span<T>(pp + i, n);
                var m = new Span<T>(mp + i, n);
                var v = new Span<T>(vp + i, n);
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(gp + i, n), gs, gg);
                // m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2
                TensorPrimitives.Multiply(m, b1, m);
                TensorPrimitives.MultiplyAdd(gg, c1, m, m);
                TensorPrimitives.Multiply(v, b2, v);
                TensorPrimitives.Multiply(gg, gg, gg);
                TensorPrimitives.MultiplyAdd(gg, c2, v, v);
                // u = mhat / (sqrt(vhat) + eps) + wd p; p -= lr u
                TensorPrimitives.Multiply(v, invBc2, uu);
                TensorPrimitives.Sqrt(uu, uu);
                TensorPrimitives.Add(uu, eps, uu);
                TensorPrimitives.Multiply(m, invBc1, gg);
                TensorPrimitives.Divide(gg, uu, uu);
                TensorPrimitives.MultiplyAdd(p, wd, uu, uu);
                TensorPrimitives.MultiplyAdd(uu, negLr, p, p);
            }
        });
    }
}
