// Non-generic entry points of the tensor-core attention kernels for the common instantiations (the dispatcher
// instantiates the generic kernels directly); listed here so the PTX compile tests check the inline-PTX variants.
using ILGPU;

namespace Lors.Tensors.Cuda.Kernels;

internal static class AttentionMmaKernels
{
    public static void ForwardBf16D128(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> o, ArrayView<float> lse, AttnArgs a) =>
        AttentionMma.Forward<PtxMmaBf16, Hd128>(q, k, v, o, lse, a);

    public static void ForwardF16D64(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> o, ArrayView<float> lse, AttnArgs a) =>
        AttentionMma.Forward<PtxMmaF16, Hd64>(q, k, v, o, lse, a);

    public static void BackwardQBf16D128(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> go, ArrayView<float> lse, ArrayView<float> delta, ArrayView<byte> gq, AttnArgs a) =>
        AttentionMma.BackwardQ<PtxMmaBf16, Hd128>(q, k, v, go, lse, delta, gq, a);

    public static void BackwardKVBf16D128(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> go, ArrayView<float> lse, ArrayView<float> delta, ArrayView<byte> gk, ArrayView<byte> gv, AttnArgs a) =>
        AttentionMma.BackwardKV<PtxMmaBf16, Hd128>(q, k, v, go, lse, delta, gk, gv, a);
}
