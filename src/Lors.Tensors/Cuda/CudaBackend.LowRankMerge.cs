// The fused LoRS merge on CUDA: w, y [O, I] (one float dtype), a [O, r], b [r, I] (F32 or BF16); one launch, no [O, I]
// fp32 product in memory. The kernel is in Kernels/LowRankMerge.cs.
using ILGPU;
using ILGPU.Runtime;
using Lors.Tensors.Cuda.Kernels;

namespace Lors.Tensors.Cuda;

public sealed partial class CudaBackend
{
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, LowRankMergeArgs>? _kLowRankMerge;

    public void MaskedLowRankMerge(Tensor w, Tensor a, Tensor b, float s, Tensor y)
    {
        const string op = "MaskedLowRankMerge";
        int tw = Ft(op, w), ta = Ft(op, a), tb = Ft(op, b);
        SameType(op, w, y);
        if (a.DType == DType.F16 || b.DType == DType.F16) throw new ArgumentException($"{op}: a and b must be f32 or bf16, got {a.DType.Name()} and {b.DType.Name()}");
        int o = w.Shape[0], n = w.Shape[1], r = a.Shape[1];
        Count(op, w.Numel);
        if (o == 0 || n == 0) return;
        if (r == 0) { Copy(w, y); return; }
        int es = w.DType.Size();
        bool aligned = (w.Offset * es) % 16 == 0 && (y.Offset * es) % 16 == 0;
        var args = new LowRankMergeArgs { O = o, I = n, R = r, TW = tw, TA = ta, TB = tb, S = s, Vec = aligned && n % 8 == 0 ? 1 : 0 };
        var cfg = new KernelConfig(new Index2D((n + LowRankMergeKernels.TileCols - 1) / LowRankMergeKernels.TileCols, (o + LowRankMergeKernels.TileRows - 1) / LowRankMergeKernels.TileRows),
            new Index2D(LowRankMergeKernels.Threads, 1));
        var wv = Bytes(w); var av = Bytes(a); var bv = Bytes(b); var yv = Bytes(y);
        Run(op, () => (_kLowRankMerge ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, LowRankMergeArgs>(LowRankMergeKernels.MaskedLowRankMerge))(cfg, wv, av, bv, yv, args));
    }
}
