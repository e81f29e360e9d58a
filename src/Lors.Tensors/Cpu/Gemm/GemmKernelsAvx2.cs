// AVX2/FMA micro-kernels: a 6x16 tile (12 ymm accumulators + two B vectors + one broadcast = 15 of 16
// registers) and a 6x8 tile for the last narrow column panel.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lors.Tensors.Cpu;

internal static unsafe class GemmKernelsAvx2
{
    public const int MR = 6, NR = 16, HalfNR = 8;

    /// <summary>C[6 x 16] = alpha * sum_k a[k*6 + r] * b[k*16 + j] + beta * C (beta == 0: overwrite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel6x16(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < kc; k++, a += MR, b += NR)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]); c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        Store(c, c00, va, vb, beta); Store(c + 8, c01, va, vb, beta); c += ldc;
        Store(c, c10, va, vb, beta); Store(c + 8, c11, va, vb, beta); c += ldc;
        Store(c, c20, va, vb, beta); Store(c + 8, c21, va, vb, beta); c += ldc;
        Store(c, c30, va, vb, beta); Store(c + 8, c31, va, vb, beta); c += ldc;
        Store(c, c40, va, vb, beta); Store(c + 8, c41, va, vb, beta); c += ldc;
        Store(c, c50, va, vb, beta); Store(c + 8, c51, va, vb, beta);
    }

    /// <summary>C[6 x 8] tile for an 8-wide B panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel6x8(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        for (int k = 0; k < kc; k++, a += MR, b += HalfNR)
        {
            var b0 = Vector256.Load(b);
            c0 = Fma.MultiplyAdd(Vector256.Create(a[0]), b0, c0);
            c1 = Fma.MultiplyAdd(Vector256.Create(a[1]), b0, c1);
            c2 = Fma.MultiplyAdd(Vector256.Create(a[2]), b0, c2);
            c3 = Fma.MultiplyAdd(Vector256.Create(a[3]), b0, c3);
            c4 = Fma.MultiplyAdd(Vector256.Create(a[4]), b0, c4);
            c5 = Fma.MultiplyAdd(Vector256.Create(a[5]), b0, c5);
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        Store(c, c0, va, vb, beta); c += ldc;
        Store(c, c1, va, vb, beta); c += ldc;
        Store(c, c2, va, vb, beta); c += ldc;
        Store(c, c3, va, vb, beta); c += ldc;
        Store(c, c4, va, vb, beta); c += ldc;
        Store(c, c5, va, vb, beta);
    }

    /// <summary>c = alpha*x + beta*c, never reading c when beta == 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> x, Vector256<float> va, Vector256<float> vb, float beta)
    {
        if (beta == 0f) (x * va).Store(c);
        else if (beta == 1f) Fma.MultiplyAdd(x, va, Vector256.Load(c)).Store(c);
        else Fma.MultiplyAdd(x, va, Vector256.Load(c) * vb).Store(c);
    }
}
