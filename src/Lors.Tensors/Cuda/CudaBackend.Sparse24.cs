// Compressed 2:4 weights on CUDA: compress W [O, I] to values [O, I/2] + meta U8 [O, I/8], decompress, and the LoRS
// merge on the kept values (dense or compressed output). Kernels in Kernels/Sparse24.cs, one thread per meta byte.
using ILGPU;
using ILGPU.Runtime;
using Lors.Tensors.Cuda.Kernels;

namespace Lors.Tensors.Cuda;

public sealed partial class CudaBackend
{
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, Sparse24Args>? _kCompress24;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, Sparse24Args>? _kDecompress24;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, Sparse24Args>? _kMerge24;

    public void Compress24(Tensor w, Tensor values, Tensor meta, Tensor firstBad)
    {
        const string op = "Compress24";
        var g = new Sparse24Args { O = w.Shape[0], I = w.Shape[1], TV = Ft(op, w), Es = w.DType.Size() };
        int n = Count(op, meta.Numel);
        var wv = Bytes(w); var vv = Bytes(values); var mv = Bytes(meta); var bv = I32(firstBad);
        Run(op, () => (_kCompress24 ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, Sparse24Args>(Sparse24Kernels.Compress))(n, wv, vv, mv, bv, g));
    }

    public void Decompress24(Tensor values, Tensor meta, Tensor y)
    {
        const string op = "Decompress24";
        var g = new Sparse24Args { O = y.Shape[0], I = y.Shape[1], TV = Ft(op, values), Es = values.DType.Size() };
        int n = Count(op, meta.Numel);
        var vv = Bytes(values); var mv = Bytes(meta); var yv = Bytes(y);
        Run(op, () => (_kDecompress24 ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, Sparse24Args>(Sparse24Kernels.Decompress))(n, vv, mv, yv, g));
    }

    public void MaskedLowRankMerge24(Tensor values, Tensor meta, Tensor a, Tensor b, float s, Tensor y)
    {
        const string op = "MaskedLowRankMerge24";
        int i = values.Shape[1] * 2;
        var g = new Sparse24Args
        {
            O = values.Shape[0], I = i, R = a.Shape[1], TV = Ft(op, values), TA = Ft(op, a), TB = Ft(op, b), Es = values.DType.Size(),
            Dense = y.Shape[1] == i ? 1 : 0, S = s,
        };
        if (a.DType == DType.F16 || b.DType == DType.F16) throw new ArgumentException($"{op}: a and b must be f32 or bf16, got {a.DType.Name()} and {b.DType.Name()}");
        int n = Count(op, meta.Numel);
        var vv = Bytes(values); var mv = Bytes(meta); var av = Bytes(a); var bv = Bytes(b); var yv = Bytes(y);
        Run(op, () => (_kMerge24 ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, Sparse24Args>(Sparse24Kernels.Merge))(n, vv, mv, av, bv, yv, g));
    }

    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, Sparse24Args>? _kLinear24;

    public void Linear24(Tensor x, Tensor values, Tensor meta, Tensor y)
    {
        const string op = "Linear24";
        var g = new Sparse24Args { O = values.Shape[0], I = x.Shape[1], R = x.Shape[0], TV = Ft(op, values), TA = Ft(op, x), TB = Ft(op, y), Es = values.DType.Size() };
        Count(op, values.Numel);
        var xv = Bytes(x); var vv = Bytes(values); var mv = Bytes(meta); var yv = Bytes(y);
        var cfg = new KernelConfig(new Index1D(g.O), new Index1D(Sparse24Kernels.LinearThreads));
        Run(op, () => (_kLinear24 ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, Sparse24Args>(Sparse24Kernels.Linear))(cfg, xv, vv, mv, yv, g));
    }
}
