// The fused LoRS merge y = (w != 0) ? w + s * (a b) : w with w, y [O, I] (any float), a [O, r], b [r, I] (F32/BF16, or
// F64 beside an F64 w). Each row's rank-r product is formed in registers (k in order, one FMA per k) and used at once,
// so no [O, I] fp32 product is written; the same code is the reference the CUDA kernel is checked against.
using System.Runtime.Intrinsics;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>Columns widened per step for 16-bit w (stack scratch).</summary>
    private const int MergeCols = 512;

    public void MaskedLowRankMerge(Tensor w, Tensor a, Tensor b, float s, Tensor y)
    {
        int o = w.Shape[0], n = w.Shape[1], r = a.Shape[1];
        if (w.DType == DType.F64)
        {
            using var a64 = a.DType == DType.F64 ? null : a.To(DType.F64);
            using var b64 = b.DType == DType.F64 ? null : b.To(DType.F64);
            double* ap = F64(a64 ?? a), bp = F64(b64 ?? b), wp = F64(w), yp = F64(y);
            ParallelRows(o, (long)n * (r + 1), (r0, r1) =>
            {
                for (long row = r0; row < r1; row++)
                    for (int i = 0; i < n; i++)
                    {
                        double wi = wp[row * n + i], acc = 0;
                        for (int k = 0; k < r; k++) acc = Math.FusedMultiplyAdd(ap[row * r + k], bp[(long)k * n + i], acc);
                        yp[row * n + i] = wi != 0 ? Math.FusedMultiplyAdd(acc, s, wi) : wi;
                    }
            });
            return;
        }
        using var a32 = a.DType == DType.F32 ? null : a.To(DType.F32);
        using var b32 = b.DType == DType.F32 ? null : b.To(DType.F32);
        float* af = F(a32 ?? a), bf = F(b32 ?? b);
        var dt = w.DType;
        byte* wbytes = Ptr(w), ybytes = Ptr(y);
        ParallelRows(o, (long)n * (r + 1), (r0, r1) =>
        {
            if (dt == DType.F32)
            {
                for (long row = r0; row < r1; row++)
                    MergeRowF32((float*)wbytes + row * n, af + row * r, bf, r, n, 0, n, s, (float*)ybytes + row * n);
                return;
            }
            // 16-bit w: widen a block of the row, merge in fp32, round back to w's dtype.
            float* wb = stackalloc float[MergeCols];
            float* yb = stackalloc float[MergeCols];
            for (long row = r0; row < r1; row++)
                for (int c0 = 0; c0 < n; c0 += MergeCols)
                {
                    int len = Math.Min(MergeCols, n - c0);
                    long at = (row * n + c0) * 2;
                    Convert.Run(wbytes + at, dt, (byte*)wb, DType.F32, len);
                    MergeRowF32(wb - c0, af + row * r, bf, r, n, c0, c0 + len, s, yb - c0);
                    Convert.Run((byte*)yb, DType.F32, ybytes + at, dt, len);
                }
        });
    }

    /// <summary>
    /// Columns [c0, c1) of one row: y[i] = w[i] != 0 ? fma(sum_k a[k] b[k, i], s, w[i]) : w[i]; b is [r, n] row-major.
    /// Every SIMD width computes the same FMA chain per element, so all levels give identical bits.
    /// </summary>
    private static void MergeRowF32(float* w, float* a, float* b, int r, int n, int c0, int c1, float s, float* y)
    {
        int i = c0;
        if (CpuFeatures.UseAvx512 && Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(s);
            // Four independent FMA chains per step hide the FMA latency; each element still sums k in order.
            for (; i + 64 <= c1; i += 64)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int k = 0; k < r; k++)
                {
                    var ak = Vector512.Create(a[k]);
                    float* bk = b + (long)k * n + i;
                    a0 = Vector512.FusedMultiplyAdd(ak, Vector512.Load(bk), a0);
                    a1 = Vector512.FusedMultiplyAdd(ak, Vector512.Load(bk + 16), a1);
                    a2 = Vector512.FusedMultiplyAdd(ak, Vector512.Load(bk + 32), a2);
                    a3 = Vector512.FusedMultiplyAdd(ak, Vector512.Load(bk + 48), a3);
                }
                Put512(w + i, a0, vs, y + i);
                Put512(w + i + 16, a1, vs, y + i + 16);
                Put512(w + i + 32, a2, vs, y + i + 32);
                Put512(w + i + 48, a3, vs, y + i + 48);
            }
            for (; i + 16 <= c1; i += 16)
            {
                var acc = Vector512<float>.Zero;
                for (int k = 0; k < r; k++) acc = Vector512.FusedMultiplyAdd(Vector512.Create(a[k]), Vector512.Load(b + (long)k * n + i), acc);
                var wv = Vector512.Load(w + i);
                Vector512.ConditionalSelect(Vector512.Equals(wv, Vector512<float>.Zero), wv, Vector512.FusedMultiplyAdd(acc, vs, wv)).Store(y + i);
            }
        }
        else if (CpuFeatures.UseAvx2 && Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; i + 32 <= c1; i += 32)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int k = 0; k < r; k++)
                {
                    var ak = Vector256.Create(a[k]);
                    float* bk = b + (long)k * n + i;
                    a0 = Vector256.FusedMultiplyAdd(ak, Vector256.Load(bk), a0);
                    a1 = Vector256.FusedMultiplyAdd(ak, Vector256.Load(bk + 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(ak, Vector256.Load(bk + 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(ak, Vector256.Load(bk + 24), a3);
                }
                Put256(w + i, a0, vs, y + i);
                Put256(w + i + 8, a1, vs, y + i + 8);
                Put256(w + i + 16, a2, vs, y + i + 16);
                Put256(w + i + 24, a3, vs, y + i + 24);
            }
            for (; i + 8 <= c1; i += 8)
            {
                var acc = Vector256<float>.Zero;
                for (int k = 0; k < r; k++) acc = Vector256.FusedMultiplyAdd(Vector256.Create(a[k]), Vector256.Load(b + (long)k * n + i), acc);
                var wv = Vector256.Load(w + i);
                Vector256.ConditionalSelect(Vector256.Equals(wv, Vector256<float>.Zero), wv, Vector256.FusedMultiplyAdd(acc, vs, wv)).Store(y + i);
            }
        }
        for (; i < c1; i++)
        {
            float acc = 0f;
            for (int k = 0; k < r; k++) acc = MathF.FusedMultiplyAdd(a[k], b[(long)k * n + i], acc);
            y[i] = w[i] != 0f ? MathF.FusedMultiplyAdd(acc, s, w[i]) : w[i];
        }
    }

    private static void Put512(float* w, Vector512<float> acc, Vector512<float> vs, float* y)
    {
        var wv = Vector512.Load(w);
        Vector512.ConditionalSelect(Vector512.Equals(wv, Vector512<float>.Zero), wv, Vector512.FusedMultiplyAdd(acc, vs, wv)).Store(y);
    }

    private static void Put256(float* w, Vector256<float> acc, Vector256<float> vs, float* y)
    {
        var wv = Vector256.Load(w);
        Vector256.ConditionalSelect(Vector256.Equals(wv, Vector256<float>.Zero), wv, Vector256.FusedMultiplyAdd(acc, vs, wv)).Store(y);
    }
}
