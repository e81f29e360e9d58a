// Packing: copies a block of op(A) into MR-row panels and a block of op(B) into NR-column panels, laid out
// so the micro-kernel walks both with unit stride. Transposes and BF16 -> F32 conversion happen here.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Avx = System.Runtime.Intrinsics.X86.Avx;

namespace Lors.Tensors.Cpu;

internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs op(A)[0..mc, 0..kc) (operand already offset to the block) into panels of <paramref name="mr"/> rows:
    /// panel p starts at dst + p*mr*kc and holds element (r, k) at [k*mr + r]. Missing rows are zero.
    /// </summary>
    public static void PackA(in GemmOperand a, int mc, int kc, float* dst, int mr)
    {
        if (a.Kind == GemmElement.BF16) PackA<Bf16Element>(a, mc, kc, dst, mr);
        else PackA<F32Element>(a, mc, kc, dst, mr);
    }

    /// <summary>
    /// Packs op(B)[0..kc, 0..nc) into column panels of <paramref name="nr"/>: panel q starts at dst + q*nr*kc,
    /// holds element (k, j) at [k*w + j] where w = nr, or the narrower <paramref name="lastWidth"/> for the last one.
    /// </summary>
    public static void PackB(in GemmOperand b, int kc, int nc, float* dst, int nr, int lastWidth)
    {
        if (b.Kind == GemmElement.BF16) PackB<Bf16Element>(b, kc, nc, dst, nr, lastWidth);
        else PackB<F32Element>(b, kc, nc, dst, nr, lastWidth);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA<T>(GemmOperand a, int mc, int kc, float* dst, int mr) where T : IGemmElement
    {
        nint ld = a.Ld;
        for (int i0 = 0; i0 < mc; i0 += mr, dst += (nint)mr * kc)
        {
            int rows = Math.Min(mr, mc - i0);
            if (a.Trans)
            {
                // Stored K x M: each k gives `rows` consecutive elements of the panel.
                for (int k = 0; k < kc; k++)
                {
                    float* d = dst + (nint)k * mr;
                    T.Copy(a.Ptr, k * ld + i0, d, rows);
                    for (int r = rows; r < mr; r++) d[r] = 0f;
                }
                continue;
            }
            if (typeof(T) == typeof(F32Element) && rows == mr && CpuFeatures.UseAvx2)
            {
                TransposeRowsF32((float*)a.Ptr + i0 * ld, ld, kc, dst, mr);
                continue;
            }
            for (int r = 0; r < rows; r++)
            {
                nint src = (i0 + r) * ld;
                for (int k = 0; k < kc; k++) dst[(nint)k * mr + r] = T.Load(a.Ptr, src + k);
            }
            for (int r = rows; r < mr; r++)
                for (int k = 0; k < kc; k++) dst[(nint)k * mr + r] = 0f;
        }
    }

    /// <summary>
    /// Row-major mr x kc F32 rows into k-major panel order. Eight k at a time: load 8 floats from each row,
    /// transpose 8x8 blocks in registers, store 8 contiguous panel columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeRowsF32(float* src, nint ld, int kc, float* dst, int mr)
    {
        int k = 0;
        for (; k + 8 <= kc; k += 8)
        {
            int r = 0;
            for (; r + 8 <= mr; r += 8)
            {
                float* s = src + r * ld + k;
                Transpose8x8(s, ld, dst + (nint)k * mr + r, mr);
            }
            for (; r < mr; r++)
            {
                float* s = src + r * ld + k;
                for (int kk = 0; kk < 8; kk++) dst[(nint)(k + kk) * mr + r] = s[kk];
            }
        }
        for (; k < kc; k++)
            for (int r = 0; r < mr; r++) dst[(nint)k * mr + r] = src[r * ld + k];
    }

    /// <summary>Writes the transpose of an 8x8 block at s (row stride ld) to d (row stride dstride).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, nint ld, float* d, int dstride)
    {
        var r0 = Vector256.Load(s); var r1 = Vector256.Load(s + ld);
        var r2 = Vector256.Load(s + 2 * ld); var r3 = Vector256.Load(s + 3 * ld);
        var r4 = Vector256.Load(s + 4 * ld); var r5 = Vector256.Load(s + 5 * ld);
        var r6 = Vector256.Load(s + 6 * ld); var r7 = Vector256.Load(s + 7 * ld);
        // Stage 1: interleave pairs of rows.
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        // Stage 2: gather 4-element columns.
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        // Stage 3: join 128-bit halves.
        Avx.Permute2x128(u0, u4, 0x20).Store(d);
        Avx.Permute2x128(u1, u5, 0x20).Store(d + dstride);
        Avx.Permute2x128(u2, u6, 0x20).Store(d + 2 * dstride);
        Avx.Permute2x128(u3, u7, 0x20).Store(d + 3 * dstride);
        Avx.Permute2x128(u0, u4, 0x31).Store(d + 4 * dstride);
        Avx.Permute2x128(u1, u5, 0x31).Store(d + 5 * dstride);
        Avx.Permute2x128(u2, u6, 0x31).Store(d + 6 * dstride);
        Avx.Permute2x128(u3, u7, 0x31).Store(d + 7 * dstride);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB<T>(GemmOperand b, int kc, int nc, float* dst, int nr, int lastWidth) where T : IGemmElement
    {
        nint ld = b.Ld;
        for (int j0 = 0; j0 < nc; j0 += nr, dst += (nint)nr * kc)
        {
            int cols = Math.Min(nr, nc - j0);
            int w = cols <= lastWidth ? lastWidth : nr;
            if (!b.Trans)
            {
                // Stored K x N: each k gives `cols` consecutive elements of the panel.
                for (int k = 0; k < kc; k++)
                {
                    float* d = dst + (nint)k * w;
                    T.Copy(b.Ptr, k * ld + j0, d, cols);
                    for (int j = cols; j < w; j++) d[j] = 0f;
                }
                continue;
            }
            if (typeof(T) == typeof(F32Element) && cols == w && (w & 7) == 0 && CpuFeatures.UseAvx2)
            {
                TransposeRowsF32((float*)b.Ptr + j0 * ld, ld, kc, dst, w);
                continue;
            }
            for (int j = 0; j < cols; j++)
            {
                nint src = (j0 + j) * ld;
                for (int k = 0; k < kc; k++) dst[(nint)k * w + j] = T.Load(b.Ptr, src + k);
            }
            for (int j = cols; j < w; j++)
                for (int k = 0; k < kc; k++) dst[(nint)k * w + j] = 0f;
        }
    }
}
