// TEMPORARY naive GEMM so the engine compiles before the packed GEMM lands; deleted when it does.
namespace Lors.Tensors.Cpu;

public enum GemmElement { F32, BF16 }

public static unsafe class Gemm
{
    public static void Mixed(bool transA, bool transB, int M, int N, int K, float alpha, void* A, GemmElement aKind, int lda, void* B, GemmElement bKind, int ldb, float beta, float* C, int ldc)
    {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double s = 0;
                for (int k = 0; k < K; k++) s += Get(A, aKind, transA ? (long)k * lda + i : (long)i * lda + k) * Get(B, bKind, transB ? (long)j * ldb + k : (long)k * ldb + j);
                C[(long)i * ldc + j] = (float)(alpha * s + (beta == 0 ? 0 : beta * C[(long)i * ldc + j]));
            }
    }

    private static float Get(void* p, GemmElement k, long i) => k == GemmElement.F32 ? ((float*)p)[i] : Half16.BF16ToFloat(((ushort*)p)[i]);

    public static void SgemmBatched(bool transA, bool transB, int batch, int M, int N, int K, float alpha, float* A, int lda, long strideA, float* B, int ldb, long strideB, float beta, float* C, int ldc, long strideC)
    {
        for (int b = 0; b < batch; b++) Mixed(transA, transB, M, N, K, alpha, A + b * strideA, GemmElement.F32, lda, B + b * strideB, GemmElement.F32, ldb, beta, C + b * strideC, ldc);
    }

    public static void Dgemm(bool transA, bool transB, int M, int N, int K, double alpha, double* A, int lda, double* B, int ldb, double beta, double* C, int ldc)
    {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double s = 0;
                for (int k = 0; k < K; k++) s += A[transA ? (long)k * lda + i : (long)i * lda + k] * B[transB ? (long)j * ldb + k : (long)k * ldb + j];
                C[(long)i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * C[(long)i * ldc + j]);
            }
    }
}
