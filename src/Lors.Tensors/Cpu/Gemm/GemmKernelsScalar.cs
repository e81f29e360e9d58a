// Portable scalar micro-kernel (4x4 tile in locals) for machines, or tests, without AVX2.
using System.Runtime.CompilerServices;

namespace Lors.Tensors.Cpu;

internal static unsafe class GemmKernelsScalar
{
    public const int MR = 4, NR = 4;

    /// <summary>C[4 x 4] = alpha * sum_k a[k*4 + r] * b[k*4 + j] + beta * C (beta == 0: overwrite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Kernel4x4(int kc, float* a, float* b, float* c, nint ldc, float alpha, float beta)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int k = 0; k < kc; k++, a += MR, b += NR)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float x = a[0]; c00 += x * b0; c01 += x * b1; c02 += x * b2; c03 += x * b3;
            x = a[1]; c10 += x * b0; c11 += x * b1; c12 += x * b2; c13 += x * b3;
            x = a[2]; c20 += x * b0; c21 += x * b1; c22 += x * b2; c23 += x * b3;
            x = a[3]; c30 += x * b0; c31 += x * b1; c32 += x * b2; c33 += x * b3;
        }
        StoreRow(c, c00, c01, c02, c03, alpha, beta); c += ldc;
        StoreRow(c, c10, c11, c12, c13, alpha, beta); c += ldc;
        StoreRow(c, c20, c21, c22, c23, alpha, beta); c += ldc;
        StoreRow(c, c30, c31, c32, c33, alpha, beta);
    }

    private static void StoreRow(float* c, float x0, float x1, float x2, float x3, float alpha, float beta)
    {
        if (beta == 0f) { c[0] = alpha * x0; c[1] = alpha * x1; c[2] = alpha * x2; c[3] = alpha * x3; }
        else
        {
            c[0] = alpha * x0 + beta * c[0]; c[1] = alpha * x1 + beta * c[1];
            c[2] = alpha * x2 + beta * c[2]; c[3] = alpha * x3 + beta * c[3];
        }
    }
}
