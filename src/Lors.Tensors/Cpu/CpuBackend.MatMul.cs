// Matrix products on the CPU: dispatches each (batch) product to the packed GEMM, F64 to the double GEMM.
namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void MatMul(Tensor a, bool transA, Tensor b, bool transB, Tensor c, float alpha, float beta)
    {
        var (m, n, k, batch, lda, ldb, sa, sb, sc) = MatMulGeometry.Of(a, transA, b, c);
        if (c.DType == DType.F64)
        {
            if (a.DType != DType.F64 || b.DType != DType.F64)
                throw new ArgumentException($"MatMul: an F64 output needs F64 operands, got {a.DType.Name()} and {b.DType.Name()}");
            for (int i = 0; i < batch; i++)
                Gemm.Dgemm(transA, transB, m, n, k, alpha, F64(a) + i * sa, lda, F64(b) + i * sb, ldb, beta, F64(c) + i * sc, n);
            return;
        }
        if (c.DType != DType.F32)
        {
            using var c32 = c.To(DType.F32);
            MatMul(a, transA, b, transB, c32, alpha, beta);
            Copy(c32, c);
            return;
        }
        using var a32 = a.DType is DType.F32 or DType.BF16 ? null : a.To(DType.F32);
        using var b32 = b.DType is DType.F32 or DType.BF16 ? null : b.To(DType.F32);
        var ea = a32 ?? a;
        var eb = b32 ?? b;
        var ka = ea.DType == DType.BF16 ? GemmElement.BF16 : GemmElement.F32;
        var kb = eb.DType == DType.BF16 ? GemmElement.BF16 : GemmElement.F32;
        if (ka == GemmElement.F32 && kb == GemmElement.F32 && batch > 1)
        {
            Gemm.SgemmBatched(transA, transB, batch, m, n, k, alpha, F(ea), lda, sa, F(eb), ldb, sb, beta, F(c), n, sc);
            return;
        }
        int esA = ea.DType.Size(), esB = eb.DType.Size();
        for (int i = 0; i < batch; i++)
            Gemm.GemmEx(transA, transB, m, n, k, alpha, Ptr(ea) + i * sa * esA, ka, lda, Ptr(eb) + i * sb * esB, kb, ldb, beta, F(c) + i * sc, n);
    }
}
