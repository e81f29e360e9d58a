// The slow, obviously-correct paths: a triple-loop float reference with double accumulation (for tests)
// and a simple cache-blocked double-precision GEMM (for F64 gradient checks).
namespace Lors.Tensors.Cpu;

public static unsafe partial class Gemm
{
    /// <summary>Naive triple loop with double accumulation; same semantics as <see cref="Sgemm"/>.</summary>
    public static void Reference(bool transA, bool transB, int M, int N, int K, float alpha,
        float* A, int lda, float* B, int ldb, float beta, float* C, int ldc)
    {
        Validate(transA, transB, M, N, K, lda, ldb, ldc);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double sum = 0;
                for (int k = 0; k < K; k++)
                {
                    double a = transA ? A[(long)k * lda + i] : A[(long)i * lda + k];
                    double b = transB ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                    sum += a * b;
                }
                float* c = C + (long)i * ldc + j;
                double old = beta == 0f ? 0.0 : beta * (double)*c;
                *c = (float)(alpha * sum + old);
            }
    }

    /// <summary>
    /// Double-precision GEMM, same layout rules as <see cref="Sgemm"/>. Correctness over speed: op(B) is
    /// copied into a row-major K-block once so the inner loop is a contiguous axpy.
    /// </summary>
    public static void Dgemm(bool transA, bool transB, int M, int N, int K, double alpha,
        double* A, int lda, double* B, int ldb, double beta, double* C, int ldc)
    {
        Validate(transA, transB, M, N, K, lda, ldb, ldc);
        if (M == 0 || N == 0) return;
        for (int i = 0; i < M; i++)
        {
            var row = new Span<double>(C + (long)i * ldc, N);
            if (beta == 0) row.Clear();
            else if (beta != 1) for (int j = 0; j < N; j++) row[j] *= beta;
        }
        if (K == 0 || alpha == 0) return;

        const int KB = 128;
        var panel = new double[Math.Min(K, KB) * (long)N];
        fixed (double* bp = panel)
        {
            for (int k0 = 0; k0 < K; k0 += KB)
            {
                int kb = Math.Min(KB, K - k0);
                for (int k = 0; k < kb; k++)
                    for (int j = 0; j < N; j++)
                        bp[(long)k * N + j] = transB ? B[(long)j * ldb + k0 + k] : B[(long)(k0 + k) * ldb + j];
                for (int i = 0; i < M; i++)
                {
                    double* c = C + (long)i * ldc;
                    for (int k = 0; k < kb; k++)
                    {
                        double a = alpha * (transA ? A[(long)(k0 + k) * lda + i] : A[(long)i * lda + k0 + k]);
                        double* b = bp + (long)k * N;
                        for (int j = 0; j < N; j++) c[j] += a * b[j];
                    }
                }
            }
        }
    }
}
