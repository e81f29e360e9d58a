// Hand-written F32 micro-kernels for the attention tiles, one generic body instantiated for Vector512 and Vector256
// (struct type parameters, so the JIT inlines the vector ops). They return false when the SIMD level or the shapes
// do not fit (cols not a multiple of the width), and the caller falls back to plain loops.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Lors.Tensors.Cpu;

internal unsafe interface IVecOps<TV> where TV : struct
{
    static abstract int Width { get; }
    static abstract TV Zero { get; }
    static abstract TV Load(float* p);
    static abstract void Store(TV v, float* p);
    static abstract TV Splat(float x);
    static abstract TV Fma(TV a, TV b, TV c);
}

internal readonly unsafe struct V512 : IVecOps<Vector512<float>>
{
    public static int Width => 16;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
}

internal readonly unsafe struct V256 : IVecOps<Vector256<float>>
{
    public static int Width => 8;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, float* p) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
}

internal static unsafe class AttnKernels
{
    private static bool Use512(int cols) => CpuFeatures.UseAvx512 && Vector512.IsHardwareAccelerated && cols % 16 == 0;
    private static bool Use256(int cols) => CpuFeatures.UseAvx2 && Vector256.IsHardwareAccelerated && cols % 8 == 0;

    /// <summary>c[r, 0:cols] = sum_i a[r, i] * bt[i, 0:cols]; 2 rows x 4 vectors per register block.</summary>
    public static bool TryMulBt(float* a, int lda, int rows, int kd, float* bt, int ldb, int cols, float* c, int ldc)
    {
        if (Use512(cols)) { MulBt<V512, Vector512<float>>(a, lda, rows, kd, bt, ldb, cols, c, ldc); return true; }
        if (Use256(cols)) { MulBt<V256, Vector256<float>>(a, lda, rows, kd, bt, ldb, cols, c, ldc); return true; }
        return false;
    }

    private static void MulBt<TO, TV>(float* a, int lda, int rows, int kd, float* bt, int ldb, int cols, float* c, int ldc)
        where TO : IVecOps<TV> where TV : struct
    {
        int w = TO.Width, j = 0;
        for (; j + 4 * w <= cols; j += 4 * w)
        {
            int r = 0;
            for (; r + 2 <= rows; r += 2)
            {
                float* a0 = a + (long)r * lda, a1 = a0 + lda, bp = bt + j;
                TV c00 = TO.Zero, c01 = TO.Zero, c02 = TO.Zero, c03 = TO.Zero, c10 = TO.Zero, c11 = TO.Zero, c12 = TO.Zero, c13 = TO.Zero;
                for (int i = 0; i < kd; i++, bp += ldb)
                {
                    TV b0 = TO.Load(bp), b1 = TO.Load(bp + w), b2 = TO.Load(bp + 2 * w), b3 = TO.Load(bp + 3 * w);
                    TV x0 = TO.Splat(a0[i]), x1 = TO.Splat(a1[i]);
                    c00 = TO.Fma(b0, x0, c00); c01 = TO.Fma(b1, x0, c01); c02 = TO.Fma(b2, x0, c02); c03 = TO.Fma(b3, x0, c03);
                    c10 = TO.Fma(b0, x1, c10); c11 = TO.Fma(b1, x1, c11); c12 = TO.Fma(b2, x1, c12); c13 = TO.Fma(b3, x1, c13);
                }
                float* c0 = c + (long)r * ldc + j, c1 = c0 + ldc;
                TO.Store(c00, c0); TO.Store(c01, c0 + w); TO.Store(c02, c0 + 2 * w); TO.Store(c03, c0 + 3 * w);
                TO.Store(c10, c1); TO.Store(c11, c1 + w); TO.Store(c12, c1 + 2 * w); TO.Store(c13, c1 + 3 * w);
            }
            for (; r < rows; r++)
            {
                float* a0 = a + (long)r * lda, bp = bt + j;
                TV c00 = TO.Zero, c01 = TO.Zero, c02 = TO.Zero, c03 = TO.Zero;
                for (int i = 0; i < kd; i++, bp += ldb)
                {
                    TV x0 = TO.Splat(a0[i]);
                    c00 = TO.Fma(TO.Load(bp), x0, c00); c01 = TO.Fma(TO.Load(bp + w), x0, c01);
                    c02 = TO.Fma(TO.Load(bp + 2 * w), x0, c02); c03 = TO.Fma(TO.Load(bp + 3 * w), x0, c03);
                }
                float* c0 = c + (long)r * ldc + j;
                TO.Store(c00, c0); TO.Store(c01, c0 + w); TO.Store(c02, c0 + 2 * w); TO.Store(c03, c0 + 3 * w);
            }
        }
        for (; j < cols; j += w)
            for (int r = 0; r < rows; r++)
            {
                float* a0 = a + (long)r * lda, bp = bt + j;
                TV acc = TO.Zero;
                for (int i = 0; i < kd; i++, bp += ldb) acc = TO.Fma(TO.Load(bp), TO.Splat(a0[i]), acc);
                TO.Store(acc, c + (long)r * ldc + j);
            }
    }

    /// <summary>o[r, 0:cols] += sum_i coef[r*rs + i*cs] * m[i, 0:cols]; 2 rows x 4 vectors per register block.</summary>
    public static bool TryAccRows(float* coef, long rs, long cs, int rows, int inner, float* m, int ldm, int cols, float* o, int ldo)
    {
        if (Use512(cols)) { AccRows<V512, Vector512<float>>(coef, rs, cs, rows, inner, m, ldm, cols, o, ldo); return true; }
        if (Use256(cols)) { AccRows<V256, Vector256<float>>(coef, rs, cs, rows, inner, m, ldm, cols, o, ldo); return true; }
        return false;
    }

    private static void AccRows<TO, TV>(float* coef, long rs, long cs, int rows, int inner, float* m, int ldm, int cols, float* o, int ldo)
        where TO : IVecOps<TV> where TV : struct
    {
        int w = TO.Width, j = 0;
        for (; j + 4 * w <= cols; j += 4 * w)
        {
            int r = 0;
            for (; r + 2 <= rows; r += 2)
            {
                float* o0 = o + (long)r * ldo + j, o1 = o0 + ldo, k0 = coef + r * rs, k1 = k0 + rs, mp = m + j;
                TV c00 = TO.Load(o0), c01 = TO.Load(o0 + w), c02 = TO.Load(o0 + 2 * w), c03 = TO.Load(o0 + 3 * w);
                TV c10 = TO.Load(o1), c11 = TO.Load(o1 + w), c12 = TO.Load(o1 + 2 * w), c13 = TO.Load(o1 + 3 * w);
                for (int i = 0; i < inner; i++, mp += ldm)
                {
                    TV b0 = TO.Load(mp), b1 = TO.Load(mp + w), b2 = TO.Load(mp + 2 * w), b3 = TO.Load(mp + 3 * w);
                    TV x0 = TO.Splat(k0[i * cs]), x1 = TO.Splat(k1[i * cs]);
                    c00 = TO.Fma(b0, x0, c00); c01 = TO.Fma(b1, x0, c01); c02 = TO.Fma(b2, x0, c02); c03 = TO.Fma(b3, x0, c03);
                    c10 = TO.Fma(b0, x1, c10); c11 = TO.Fma(b1, x1, c11); c12 = TO.Fma(b2, x1, c12); c13 = TO.Fma(b3, x1, c13);
                }
                TO.Store(c00, o0); TO.Store(c01, o0 + w); TO.Store(c02, o0 + 2 * w); TO.Store(c03, o0 + 3 * w);
                TO.Store(c10, o1); TO.Store(c11, o1 + w); TO.Store(c12, o1 + 2 * w); TO.Store(c13, o1 + 3 * w);
            }
            for (; r < rows; r++)
            {
                float* o0 = o + (long)r * ldo + j, k0 = coef + r * rs, mp = m + j;
                TV c00 = TO.Load(o0), c01 = TO.Load(o0 + w), c02 = TO.Load(o0 + 2 * w), c03 = TO.Load(o0 + 3 * w);
                for (int i = 0; i < inner; i++, mp += ldm)
                {
                    TV x0 = TO.Splat(k0[i * cs]);
                    c00 = TO.Fma(TO.Load(mp), x0, c00); c01 = TO.Fma(TO.Load(mp + w), x0, c01);
                    c02 = TO.Fma(TO.Load(mp + 2 * w), x0, c02); c03 = TO.Fma(TO.Load(mp + 3 * w), x0, c03);
                }
                TO.Store(c00, o0); TO.Store(c01, o0 + w); TO.Store(c02, o0 + 2 * w); TO.Store(c03, o0 + 3 * w);
            }
        }
        // Remaining columns (e.g. D = 32 with 16-wide vectors): 2 rows x 2 vectors, then single vectors.
        for (; j + 2 * w <= cols; j += 2 * w)
        {
            int r = 0;
            for (; r + 2 <= rows; r += 2)
            {
                float* o0 = o + (long)r * ldo + j, o1 = o0 + ldo, k0 = coef + r * rs, k1 = k0 + rs, mp = m + j;
                TV c00 = TO.Load(o0), c01 = TO.Load(o0 + w), c10 = TO.Load(o1), c11 = TO.Load(o1 + w);
                for (int i = 0; i < inner; i++, mp += ldm)
                {
                    TV b0 = TO.Load(mp), b1 = TO.Load(mp + w);
                    TV x0 = TO.Splat(k0[i * cs]), x1 = TO.Splat(k1[i * cs]);
                    c00 = TO.Fma(b0, x0, c00); c01 = TO.Fma(b1, x0, c01);
                    c10 = TO.Fma(b0, x1, c10); c11 = TO.Fma(b1, x1, c11);
                }
                TO.Store(c00, o0); TO.Store(c01, o0 + w); TO.Store(c10, o1); TO.Store(c11, o1 + w);
            }
            for (; r < rows; r++)
            {
                float* o0 = o + (long)r * ldo + j, k0 = coef + r * rs, mp = m + j;
                TV c00 = TO.Load(o0), c01 = TO.Load(o0 + w);
                for (int i = 0; i < inner; i++, mp += ldm)
                {
                    TV x0 = TO.Splat(k0[i * cs]);
                    c00 = TO.Fma(TO.Load(mp), x0, c00); c01 = TO.Fma(TO.Load(mp + w), x0, c01);
                }
                TO.Store(c00, o0); TO.Store(c01, o0 + w);
            }
        }
        for (; j < cols; j += w)
            for (int r = 0; r < rows; r++)
            {
                float* o0 = o + (long)r * ldo + j, k0 = coef + r * rs, mp = m + j;
                TV acc = TO.Load(o0);
                for (int i = 0; i < inner; i++, mp += ldm) acc = TO.Fma(TO.Load(mp), TO.Splat(k0[i * cs]), acc);
                TO.Store(acc, o0);
            }
    }
}
