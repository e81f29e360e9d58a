// Public entry points of the CPU GEMM: argument checks, the K = 0 / empty cases, and the hand-off
// to the packed, blocked driver (GemmDriver) for F32 and BF16 operands.
namespace Lors.Tensors.Cpu;

/// <summary>Element type of a GEMM operand. BF16 is the ushort bit pattern holding the upper 16 bits of a float.</summary>
public enum GemmElement { F32, BF16 }

public static unsafe partial class Gemm
{
    /// <summary>
    /// Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, with op(X) = X or X^T.
    /// beta == 0 overwrites C (NaN in the old contents does not leak through).
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int M, int N, int K, float alpha,
        float* A, int lda, float* B, int ldb, float beta, float* C, int ldc)
        => Run(transA, transB, M, N, K, alpha, A, GemmElement.F32, lda, B, GemmElement.F32, ldb, beta, C, ldc);

    /// <summary>As <see cref="Sgemm"/>, but each operand may be F32 or BF16; accumulation is fp32.</summary>
    // C# forbids a member named like its class (CS0542), so the mixed-type entry point is GemmEx (as in cuBLAS).
    public static void GemmEx(bool transA, bool transB, int M, int N, int K, float alpha,
        void* A, GemmElement aKind, int lda, void* B, GemmElement bKind, int ldb, float beta, float* C, int ldc)
        => Run(transA, transB, M, N, K, alpha, A, aKind, lda, B, bKind, ldb, beta, C, ldc);

    /// <summary>
    /// Strided batch: C_b = alpha op(A_b) op(B_b) + beta C_b for b in [0, batch), X_b = X + b * strideX.
    /// A stride of 0 broadcasts that operand. Small problems run one batch per thread.
    /// </summary>
    public static void SgemmBatched(bool transA, bool transB, int batch, int M, int N, int K, float alpha,
        float* A, int lda, long strideA, float* B, int ldb, long strideB, float beta, float* C, int ldc, long strideC)
    {
        if (batch < 0) throw new ArgumentException($"Gemm: batch must be >= 0 (batch={batch}).");
        Validate(transA, transB, M, N, K, lda, ldb, ldc);
        if (batch == 0) return;

        // Batches may run side by side only when their C blocks cannot overlap.
        long cSpan = M == 0 ? 0 : (long)(M - 1) * ldc + N;
        bool disjoint = batch == 1 || strideC >= cSpan || -strideC >= cSpan;
        int threads = Math.Min(CpuFeatures.MaxThreads, batch);
        long work = (long)M * N * Math.Max(K, 1);
        if (disjoint && threads > 1 && work < GemmDriver.ParallelThreshold)
        {
            var opts = new ParallelOptions { MaxDegreeOfParallelism = threads };
            nint a = (nint)A, b = (nint)B, c = (nint)C;
            Parallel.For(0, batch, opts, i => GemmDriver.Execute(
                new GemmOperand((float*)a + i * strideA, GemmElement.F32, lda, transA),
                new GemmOperand((float*)b + i * strideB, GemmElement.F32, ldb, transB),
                M, N, K, alpha, beta, (float*)c + i * strideC, ldc, threads: 1));
            return;
        }
        for (long i = 0; i < batch; i++)
            Run(transA, transB, M, N, K, alpha, A + i * strideA, GemmElement.F32, lda,
                B + i * strideB, GemmElement.F32, ldb, beta, C + i * strideC, ldc);
    }

    private static void Run(bool transA, bool transB, int M, int N, int K, float alpha,
        void* A, GemmElement aKind, int lda, void* B, GemmElement bKind, int ldb, float beta, float* C, int ldc)
    {
        Validate(transA, transB, M, N, K, lda, ldb, ldc);
        if (aKind is not (GemmElement.F32 or GemmElement.BF16) || bKind is not (GemmElement.F32 or GemmElement.BF16))
            throw new ArgumentException($"Gemm: unknown element kind (A={aKind}, B={bKind}).");
        GemmDriver.Execute(new GemmOperand(A, aKind, lda, transA), new GemmOperand(B, bKind, ldb, transB),
            M, N, K, alpha, beta, C, ldc, CpuFeatures.MaxThreads);
    }

    /// <summary>Throws when a size is negative or a leading dimension is shorter than its row.</summary>
    internal static void Validate(bool transA, bool transB, int M, int N, int K, int lda, int ldb, int ldc)
    {
        if (M < 0 || N < 0 || K < 0)
            throw new ArgumentException($"Gemm: sizes must be >= 0 (M={M}, N={N}, K={K}).");
        int aCols = transA ? M : K, bCols = transB ? K : N;
        if (lda < aCols || lda < 0)
            throw new ArgumentException($"Gemm: lda={lda} < {(transA ? "M" : "K")}={aCols} (M={M}, N={N}, K={K}, transA={transA}).");
        if (ldb < bCols || ldb < 0)
            throw new ArgumentException($"Gemm: ldb={ldb} < {(transB ? "K" : "N")}={bCols} (M={M}, N={N}, K={K}, transB={transB}).");
        if (ldc < N || ldc < 0)
            throw new ArgumentException($"Gemm: ldc={ldc} < N={N} (M={M}, N={N}, K={K}).");
    }

    /// <summary>C = beta * C over M x N, writing zeros (not 0 * old) when beta == 0.</summary>
    internal static void ScaleC(int M, int N, float beta, float* C, int ldc)
    {
        if (beta == 1f) return;
        for (int i = 0; i < M; i++)
        {
            var row = new Span<float>(C + (long)i * ldc, N);
            if (beta == 0f) row.Clear();
            else System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }
}
