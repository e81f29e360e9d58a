// Pruning ops on CUDA: lowest-k masks of score rows [rows, n], SparseGPT's diagonal-block inverse Cholesky [k, k]
// and SparseGPT's column loop over one block of transposed weights [count, rows]. Kernels in Kernels/Pruning.cs.
using ILGPU;
using ILGPU.Runtime;
using Lors.Tensors.Cuda.Kernels;

namespace Lors.Tensors.Cuda;

public sealed partial class CudaBackend
{
    private Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<byte>, PruneArgs>? _kMaskShort;
    private Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<byte>, PruneArgs>? _kMaskRows;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, PruneArgs>? _kInvChol;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, PruneArgs>? _kObs;

    public void MaskLowest(Tensor scores, Tensor counts, Tensor mask)
    {
        int rows = scores.Shape[0], n = scores.Shape[1];
        Count("MaskLowest", scores.Numel);
        if (rows == 0 || n == 0) return;
        var a = new PruneArgs { N = n, CountsLen = counts.Shape[0] };
        var sv = F32(scores); var cv = I32(counts); var mv = Bytes(mask);
        if (n <= PruningKernels.ShortRow)
            Run("MaskLowest", () => (_kMaskShort ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<byte>, PruneArgs>(PruningKernels.MaskLowestShort))(rows, sv, cv, mv, a));
        else
            Run("MaskLowest", () => (_kMaskRows ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<byte>, PruneArgs>(PruningKernels.MaskLowestRows))(new KernelConfig(rows, RowThreads), sv, cv, mv, a));
    }

    public void InverseCholeskyBlock(Tensor s, Tensor u, Tensor info)
    {
        int k = s.Shape[0];
        long ld = u.Strides[0];
        // u's rows may be strided: its view spans (k - 1) row strides plus one row.
        var uv = Store(u).View.SubView(u.Offset * 4, ((k - 1) * ld + k) * 4).Cast<float>();
        var sv = F32(s); var iv = I32(info);
        var a = new PruneArgs { N = k, Ld = ld };
        Run("InverseCholeskyBlock", () => (_kInvChol ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, PruneArgs>(PruningKernels.InverseCholesky))(new KernelConfig(1, RowThreads), sv, uv, iv, a));
    }

    public void SparseGptBlock(Tensor wt, Tensor u, Tensor mask, Tensor err, Tensor loss, int n, int m)
    {
        int count = wt.Shape[0], rows = wt.Shape[1];
        Count("SparseGptBlock", wt.Numel);
        var a = new PruneArgs { Count = count, Rows = rows, GroupN = n, GroupM = m };
        var wv = F32(wt); var uv = F32(u); var mv = Bytes(mask); var ev = F32(err); var lv = F32(loss);
        Run("SparseGptBlock", () => (_kObs ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, PruneArgs>(PruningKernels.SparseGptBlock))(rows, wv, uv, mv, ev, lv, a));
    }
}
