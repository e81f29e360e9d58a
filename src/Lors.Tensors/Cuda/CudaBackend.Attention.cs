// Causal GQA attention on CUDA (forward and backward): warp-per-row kernels, see Kernels/Attention.cs.
using ILGPU;
using ILGPU.Runtime;
using Lors.Tensors.Cuda.Kernels;

namespace Lors.Tensors.Cuda;

public sealed partial class CudaBackend
{
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>? _kAttn;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>? _kAttnDelta;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, AttnArgs>? _kAttnBackQ;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, AttnArgs>? _kAttnBackKV;

    private static AttnArgs AttnShape(string op, Tensor q, Tensor k, float scale, params Tensor[] sameType)
    {
        int dt = Ft(op, q);
        SameType(op, q, sameType);
        int d = q.Shape[3];
        if (d > AttentionKernels.MaxHeadDim) throw new NotSupportedException($"{op}: head dim {d} exceeds {AttentionKernels.MaxHeadDim} on CUDA");
        var a = new AttnArgs { B = q.Shape[0], Hq = q.Shape[1], T = q.Shape[2], D = d, Hkv = k.Shape[1], S = k.Shape[2], DType = dt, Scale = scale };
        Count(op, (long)a.B * a.Hq * a.T * 32);
        Count(op, (long)a.B * a.Hkv * a.S * 32);
        return a;
    }

    private static KernelConfig PerWarpRow(long rows) =>
        new((int)((rows + AttentionKernels.WarpsPerBlock - 1) / AttentionKernels.WarpsPerBlock), AttentionKernels.WarpsPerBlock * 32);

    public void Attention(Tensor q, Tensor k, Tensor v, float scale, Tensor output, Tensor lse)
    {
        var a = AttnShape("Attention", q, k, scale, k, v, output);
        long rows = (long)a.B * a.Hq * a.T;
        if (rows == 0 || a.D == 0) return;
        var qv = Bytes(q); var kv = Bytes(k); var vv = Bytes(v); var ov = Bytes(output); var lv = F32(lse);
        Run("Attention", () => (_kAttn ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>(AttentionKernels.Forward))(PerWarpRow(rows), qv, kv, vv, ov, lv, a));
    }

    public void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, Tensor gOut, float scale, Tensor gq, Tensor gk, Tensor gv)
    {
        const string op = "AttentionBackward";
        var a = AttnShape(op, q, k, scale, k, v, output, gOut, gq, gk, gv);
        long rows = (long)a.B * a.Hq * a.T, keyRows = (long)a.B * a.Hkv * a.S;
        if (rows == 0 || a.D == 0) return;
        using var delta = Tensor.Empty([checked((int)rows)], DType.F32, Device);
        var qv = Bytes(q); var kv = Bytes(k); var vv = Bytes(v); var ov = Bytes(output); var lv = F32(lse); var gov = Bytes(gOut);
        var dv = F32(delta); var gqv = Bytes(gq); var gkv = Bytes(gk); var gvv = Bytes(gv);
        Run(op, () => (_kAttnDelta ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>(AttentionKernels.Delta))(PerWarpRow(rows), ov, gov, dv, a));
        Run(op, () => (_kAttnBackQ ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, AttnArgs>(AttentionKernels.BackwardQ))(PerWarpRow(rows), qv, kv, vv, gov, lv, dv, gqv, a));
        Run(op, () => (_kAttnBackKV ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, AttnArgs>(AttentionKernels.BackwardKV))(PerWarpRow(keyRows), qv, kv, vv, gov, lv, dv, gkv, gvv, a));
    }
}
