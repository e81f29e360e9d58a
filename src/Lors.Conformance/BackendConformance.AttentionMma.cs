// Conformance cases of the tensor-core ("mma") attention: on a CUDA target the mma kernels run (forced, whatever the
// automatic choice), on the reference the fp32 CPU attention of the same 16-bit inputs. Shapes cover T = 1, T off the
// 64-row tile, S > T, GQA ratios 1, 4 and 8, head dims 64 and 128, BF16 and F16; one case compares mma with the
// gemm (cuBLAS) path on the same GPU. Op names start with "AttentionMma" (lors selftest --filter AttentionMma).
using Lors.Tensors.Cuda;

using Lors.Tensors;

namespace Lors.Conformance;

public sealed partial class BackendConformance
{
    private static readonly (int b, int hq, int hkv, int t, int s, int d)[] MmaShapes =
    [
        (1, 2, 2, 1, 1, 64), (1, 4, 1, 1, 37, 128), (1, 4, 4, 77, 77, 64), (1, 8, 2, 77, 130, 128),
        (2, 8, 1, 64, 64, 64), (1, 8, 1, 150, 200, 128),
    ];

    private void AttentionMma()
    {
        foreach (var dt in new[] { DType.BF16, DType.F16 })
            foreach (var (b, hq, hkv, t, s, dim) in MmaShapes)
            {
                float scale = 1f / MathF.Sqrt(dim);
                string shape = $"{dt.Name()} q [{b},{hq},{t},{dim}] kv [{b},{hkv},{s},{dim}]";
                Case("AttentionMma", shape, d =>
                {
                    var (q, k, v, _) = MmaInputs(d, b, hq, hkv, t, s, dim, dt);
                    var (o, lse) = MmaAttention(d, q, k, v, scale);
                    return Out(o, lse);
                }, new Tolerance(2e-2, 2e-2), new Tolerance(1e-3, 1e-3));
                Case("AttentionMmaBackward", shape, d =>
                {
                    var (q, k, v, go) = MmaInputs(d, b, hq, hkv, t, s, dim, dt);
                    var (o, lse) = MmaAttention(d, q, k, v, scale);
                    var (gq, gk, gv) = MmaAttentionBackward(d, q, k, v, o, lse, go, scale);
                    return Out(gq, gk, gv);
                }, new Tolerance(6e-2, 3e-2));
            }
        // mma against the gemm path on the same device: the body returns their difference (zero on the reference)
        Case("AttentionMmaVsGemm", "bf16 q [1,8,200,128] kv [1,2,200,128], out and gq gk gv differences", d =>
        {
            var (q, k, v, go) = MmaInputs(d, 1, 8, 2, 200, 200, 128, DType.BF16);
            if (Backends.Get(d) is not CudaBackend cb)
                return [new float[8 * 200 * 128], new float[8 * 200 * 128], new float[2 * 200 * 128], new float[2 * 200 * 128]];
            var mma = Run(cb, CudaBackend.AttnAlgo.Mma, q, k, v, go);
            var gemm = Run(cb, CudaBackend.AttnAlgo.Gemm, q, k, v, go);
            return mma.Zip(gemm, (x, y) => x.Zip(y, (p, r) => p - r).ToArray()).ToArray();
        }, new Tolerance(3e-2, 0), new Tolerance(8e-2, 0));
    }

    private static float[][] Run(CudaBackend cb, CudaBackend.AttnAlgo algo, Tensor q, Tensor k, Tensor v, Tensor go)
    {
        float scale = 1f / MathF.Sqrt(q.Shape[3]);
        var o = Tensor.Empty(q.Shape, q.DType, q.Device);
        var lse = Tensor.Empty(q.Shape[..3], DType.F32, q.Device);
        cb.Attention(q, k, v, scale, o, lse, algo);
        var gq = Tensor.Empty(q.Shape, q.DType, q.Device);
        var gk = Tensor.Empty(k.Shape, k.DType, k.Device);
        var gv = Tensor.Empty(v.Shape, v.DType, v.Device);
        cb.AttentionBackward(q, k, v, o, lse, go, scale, gq, gk, gv, algo);
        return Out(o, gq, gk, gv);
    }

    private static (Tensor q, Tensor k, Tensor v, Tensor go) MmaInputs(Device d, int b, int hq, int hkv, int t, int s, int dim, DType dt) =>
        (In(d, [b, hq, t, dim], 150, dt, -2, 2), In(d, [b, hkv, s, dim], 151, dt, -2, 2), In(d, [b, hkv, s, dim], 152, dt), In(d, [b, hq, t, dim], 153, dt));

    /// <summary>The mma kernels on a CUDA device; the fp32 attention of the same values elsewhere (the reference).</summary>
    private static (Tensor o, Tensor lse) MmaAttention(Device d, Tensor q, Tensor k, Tensor v, float scale)
    {
        if (Backends.Get(d) is CudaBackend cb)
        {
            var o = Tensor.Empty(q.Shape, q.DType, d);
            var lse = Tensor.Empty(q.Shape[..3], DType.F32, d);
            cb.Attention(q, k, v, scale, o, lse, CudaBackend.AttnAlgo.Mma);
            return (o, lse);
        }
        return Ops.Attention(q.To(DType.F32), k.To(DType.F32), v.To(DType.F32), scale);
    }

    private static (Tensor gq, Tensor gk, Tensor gv) MmaAttentionBackward(Device d, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse, Tensor go, float scale)
    {
        if (Backends.Get(d) is CudaBackend cb)
        {
            var gq = Tensor.Empty(q.Shape, q.DType, d);
            var gk = Tensor.Empty(k.Shape, k.DType, d);
            var gv = Tensor.Empty(v.Shape, v.DType, d);
            cb.AttentionBackward(q, k, v, o, lse, go, scale, gq, gk, gv, CudaBackend.AttnAlgo.Mma);
            return (gq, gk, gv);
        }
        return Ops.AttentionBackward(q.To(DType.F32), k.To(DType.F32), v.To(DType.F32), o, lse, go.To(DType.F32), scale);
    }
}
