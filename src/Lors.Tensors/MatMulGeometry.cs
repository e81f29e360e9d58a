// The sizes of one (batched) matrix product as a backend sees it after the Ops facade: row-major storage,
// op(a) [M, K], op(b) [K, N], c [M, N], a 2-D operand broadcast over the batch (element stride 0).
namespace Lors.Tensors;

public readonly record struct MatMulGeometry(int M, int N, int K, int Batch, int Lda, int Ldb, long StrideA, long StrideB, long StrideC)
{
    public static MatMulGeometry Of(Tensor a, bool transA, Tensor b, Tensor c)
    {
        int m = c.Shape[^2], n = c.Shape[^1];
        return new MatMulGeometry(
            M: m, N: n, K: transA ? a.Shape[^2] : a.Shape[^1],
            Batch: c.Rank == 3 ? c.Shape[0] : 1,
            Lda: a.Shape[^1], Ldb: b.Shape[^1],
            StrideA: a.Rank == 3 ? (long)a.Shape[1] * a.Shape[2] : 0,
            StrideB: b.Rank == 3 ? (long)b.Shape[1] * b.Shape[2] : 0,
            StrideC: (long)m * n);
    }
}
