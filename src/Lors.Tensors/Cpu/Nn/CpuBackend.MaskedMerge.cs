// The LoRS merge y = (w != 0) ? w + s * delta : w over w, y [O, I] (any float; y like w) and delta [O, I] (F32/F64).
// Zeros of w are copied, never computed, so they stay exactly zero whatever delta holds (NaN included).
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void MaskedMerge(Tensor w, Tensor delta, float s, Tensor y)
    {
        if (w.DType == DType.F64)
        {
            using var d64 = delta.DType == DType.F64 ? null : delta.To(DType.F64);
            MergeT<double>(F64(w), F64(d64 ?? delta), s, F64(y), w.Numel);
            return;
        }
        using var d32 = delta.DType == DType.F32 ? null : delta.To(DType.F32);
        float* dp = F(d32 ?? delta);
        if (w.DType == DType.F32) { MergeF32(F(w), dp, s, F(y), w.Numel); return; }
        // 16-bit w: widen a block, merge in F32, round back to w's dtype.
        byte* wp = Ptr(w), yp = Ptr(y);
        var dt = w.DType;
        Chunks(w.Numel, (a, b) =>
        {
            float* wb = stackalloc float[Block];
            float* yb = stackalloc float[Block];
            for (int i = a; i < b; i += Block)
            {
                int n = Math.Min(Block, b - i);
                Convert.Run(wp + (long)i * 2, dt, (byte*)wb, DType.F32, n);
                MergeF32(wb, dp + i, s, yb, n);
                Convert.Run((byte*)yb, DType.F32, yp + (long)i * 2, dt, n);
            }
        });
    }

    private static void MergeF32(float* w, float* d, float s, float* y, long n) => Chunks(n, (a, b) =>
    {
        long i = a;
        if (CpuFeatures.UseAvx512 && Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(s);
            for (; i + 16 <= b; i += 16)
            {
                var wv = Vector512.Load(w + i);
                var r = Vector512.FusedMultiplyAdd(Vector512.Load(d + i), vs, wv);
                Vector512.ConditionalSelect(Vector512.Equals(wv, Vector512<float>.Zero), wv, r).Store(y + i);
            }
        }
        else if (CpuFeatures.UseAvx2 && Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; i + 8 <= b; i += 8)
            {
                var wv = Vector256.Load(w + i);
                var r = Vector256.FusedMultiplyAdd(Vector256.Load(d + i), vs, wv);
                Vector256.ConditionalSelect(Vector256.Equals(wv, Vector256<float>.Zero), wv, r).Store(y + i);
            }
        }
        for (; i < b; i++) y[i] = w[i] != 0f ? MathF.FusedMultiplyAdd(d[i], s, w[i]) : w[i];
    });

    private static void MergeT<T>(T* w, T* d, float s, T* y, long n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T st = T.CreateTruncating(s);
        Chunks(n, (a, b) =>
        {
            for (int i = a; i < b; i++) y[i] = w[i] != T.Zero ? T.FusedMultiplyAdd(d[i], st, w[i]) : w[i];
        });
    }
}
