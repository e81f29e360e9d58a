// Causal GQA attention on CUDA (forward and backward): tiled FlashAttention-2 style kernels by default
// (Kernels/AttentionTiled.cs); LORS_CUDA_NAIVE_ATTENTION=1 selects the simple warp-per-row reference kernels
// (Kernels/Attention.cs).
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

    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>? _kFlash;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, AttnArgs>? _kFlashBackQ;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, AttnArgs>? _kFlashBackKV;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, AttnArgs>? _kFlashReduceKV;

    /// <summary>Use the simple warp-per-row attention kernels instead of the tiled ones (reference / comparison).</summary>
    public static bool NaiveAttention { get; set; } = Environment.GetEnvironmentVariable("LORS_CUDA_NAIVE_ATTENTION") == "1";

    private static int Tiles(int n, int tile) => (n + tile - 1) / tile;

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
        if (!NaiveAttention)
        {
            var cfg = new KernelConfig(checked(a.B * a.Hq * Tiles(a.T, AttentionTiledKernels.RowTile)), AttentionTiledKernels.Threads);
            Run("Attention", () => (_kFlash ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>(AttentionTiledKernels.Forward))(cfg, qv, kv, vv, ov, lv, a));
            return;
        }
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
        if (!NaiveAttention)
        {
            var cq = new KernelConfig(checked(a.B * a.Hq * Tiles(a.T, AttentionTiledKernels.RowTile)), AttentionTiledKernels.Threads);
            var ckv = new KernelConfig(checked(a.B * a.Hq * Tiles(a.S, AttentionTiledKernels.RowTile)), AttentionTiledKernels.Threads);
            Run(op, () => (_kFlashBackQ ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, AttnArgs>(AttentionTiledKernels.BackwardQ))(cq, qv, kv, vv, gov, lv, dv, gqv, a));
            // per-query-head partial dK, dV in F32, then a fixed-order sum over each group (no atomics)
            using var gkp = Tensor.Empty([a.B, a.Hq, a.S, a.D], DType.F32, Device);
            using var gvp = Tensor.Empty([a.B, a.Hq, a.S, a.D], DType.F32, Device);
            var gkpb = Bytes(gkp); var gvpb = Bytes(gvp); var gkpf = F32(gkp); var gvpf = F32(gvp);
            Run(op, () => (_kFlashBackKV ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, AttnArgs>(AttentionTiledKernels.BackwardKV))(ckv, qv, kv, vv, gov, lv, dv, gkpb, gvpb, a));
            Run(op, () => (_kFlashReduceKV ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, AttnArgs>(AttentionTiledKernels.ReduceKV))(checked((int)keyRows * a.D), gkpf, gvpf, gkv, gvv, a));
            return;
        }
        Run(op, () => (_kAttnBackQ ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, AttnArgs>(AttentionKernels.BackwardQ))(PerWarpRow(rows), qv, kv, vv, gov, lv, dv, gqv, a));
        Run(op, () => (_kAttnBackKV ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, AttnArgs>(AttentionKernels.BackwardKV))(PerWarpRow(keyRows), qv, kv, vv, gov, lv, dv, gkv, gvv, a));
    }
}
