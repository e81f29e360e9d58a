// Matrix products on CUDA: cuBLAS GemmEx / GemmStridedBatchedEx with exact fp32 compute (no TF32), or the tiled ILGPU
// kernel when cuBLAS is missing. Mixed operand dtypes (e.g. BF16 weights with F32 activations) promote the 16-bit
// operand to F32 in a temporary: exact, like the CPU, but at F32 speed; pass matching BF16 operands for tensor cores.
using ILGPU;
using ILGPU.Runtime;
using Lors.Tensors.Cuda.Kernels;

namespace Lors.Tensors.Cuda;

public sealed partial class CudaBackend
{
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, GemmArgs>? _kGemm;

    private static int CudaType(DType t) => t switch
    {
        DType.F32 => CuBlas.R32F,
        DType.BF16 => CuBlas.R16BF,
        _ => CuBlas.R16F,
    };

    public void MatMul(Tensor a, bool transA, Tensor b, bool transB, Tensor c, float alpha = 1f, float beta = 0f)
    {
        int ta = Ft("MatMul", a), tb = Ft("MatMul", b), tc = Ft("MatMul", c);
        var (m, n, k, batch, lda, ldb, sa, sb, sc) = MatMulGeometry.Of(a, transA, b, c);
        if (m == 0 || n == 0 || batch == 0) return;
        if (k == 0)
        {
            // An empty sum: c = beta c (and beta = 0 must not keep NaN from c).
            if (beta == 0f) Fill(c, 0); else Affine(c, c, beta, 0);
            return;
        }
        if (_blas is null)
        {
            var g = new GemmArgs
            {
                M = m, N = n, K = k, TransA = transA ? 1 : 0, TransB = transB ? 1 : 0, Lda = lda, Ldb = ldb, TA = ta, TB = tb, TC = tc,
                StrideA = sa, StrideB = sb, StrideC = sc, Alpha = alpha, Beta = beta,
            };
            var cfg = new KernelConfig(new Index3D((n + GemmKernels.Tile - 1) / GemmKernels.Tile, (m + GemmKernels.Tile - 1) / GemmKernels.Tile, batch), new Index3D(GemmKernels.Tile, GemmKernels.Tile, 1));
            var av = Bytes(a); var bv = Bytes(b); var cv = Bytes(c);
            Run("MatMul", () => (_kGemm ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, GemmArgs>(GemmKernels.Tiled))(cfg, av, bv, cv, g));
            return;
        }
        Tensor? a32 = null, b32 = null, c32 = null;
        try
        {
            if (a.DType != b.DType)
            {
                if (a.DType != DType.F32) a32 = a.To(DType.F32);
                if (b.DType != DType.F32) b32 = b.To(DType.F32);
            }
            var ea = a32 ?? a;
            var eb = b32 ?? b;
            // cuBLAS takes C in the inputs' type or in F32; anything else goes through an F32 temporary.
            if (c.DType != DType.F32 && c.DType != ea.DType)
                c32 = beta != 0f ? c.To(DType.F32) : Tensor.Empty(c.Shape, DType.F32, Device);
            var ec = c32 ?? c;
            Bind();
            var blas = _blas;
            Run("MatMul", () => blas.Gemm(transA, transB, m, n, k, alpha,
                Ptr(ea), CudaType(ea.DType), lda, sa, Ptr(eb), CudaType(eb.DType), ldb, sb,
                beta, Ptr(ec), CudaType(ec.DType), sc, batch));
            if (c32 is not null) Copy(c32, c);
        }
        finally
        {
            a32?.Dispose();
            b32?.Dispose();
            c32?.Dispose();
        }
    }
}
