// Causal GQA attention on CUDA (forward and backward). Four algorithms:
//  - mma: FlashAttention-2 style kernels on tensor cores (inline PTX mma.sync; CudaBackend.AttentionMma.cs,
//    Kernels/AttentionMma*.cs). Opt-in (LORS_CUDA_ATTENTION=mma): correct on the GPU for D 64 and 128 but far slower
//    than the GEMM path so far, and wrong for one D = 16 GQA case (see bench/RESULTS.md).
//  - gemm: per kv-head group, Sc = Q_group K^T and the products with P / dS through cuBLAS (tensor cores for BF16),
//    with small row kernels (Kernels/AttentionGemm.cs) for the masked softmax; the [rows, S] scratch is bounded by
//    AttentionScratchBytes (groups batched while they fit, otherwise one group in chunks of query rows).
//    The default when cuBLAS is loaded and D <= 256.
//  - tiled: FlashAttention-2 style SIMT kernels (Kernels/AttentionTiled.cs); the default without cuBLAS.
//  - naive: the simple warp-per-row reference kernels (Kernels/Attention.cs); LORS_CUDA_NAIVE_ATTENTION=1.
// LORS_CUDA_ATTENTION=mma|tiled|naive|cublas|gemm overrides the choice ("gemm" forces the GEMM algorithm even without
// cuBLAS, through the tiled ILGPU GEMM: for tests in the simulator; "cublas" uses it only when cuBLAS is loaded).
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

    private Action<KernelConfig, ArrayView<float>, ArrayView<byte>, ArrayView<float>, AttnRowArgs>? _kAttnSoftmaxRows;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, AttnRowArgs>? _kAttnSoftmaxBackRows;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>? _kAttnRowDot;

    internal enum AttnAlgo { Naive, Tiled, Gemm, Mma }

    /// <summary>LORS_CUDA_ATTENTION: null/empty (automatic), mma, tiled, naive, cublas or gemm.</summary>
    public static string? AttentionAlgorithm { get; set; } = Environment.GetEnvironmentVariable("LORS_CUDA_ATTENTION");

    /// <summary>Scratch budget of the GEMM attention path (score/probability chunks); LORS_CUDA_ATTN_SCRATCH_MB.</summary>
    public static long AttentionScratchBytes { get; set; } =
        (long.TryParse(Environment.GetEnvironmentVariable("LORS_CUDA_ATTN_SCRATCH_MB"), out var mb) && mb > 0 ? mb : 256) << 20;

    /// <summary>Largest head dim for which the GEMM path is the automatic choice.</summary>
    public const int GemmAttentionMaxHeadDim = 256;

    internal AttnAlgo PickAttention(int d, DType dt)
    {
        var s = AttentionAlgorithm?.Trim().ToLowerInvariant();
        switch (s)
        {
            case null or "" or "auto":
                // The tensor-core kernels are opt-in: on the H200 (2026-11-28) they ran at about 5 TFLOP/s, 8x slower
                // than the GEMM path, and failed one D = 16 GQA case (bench/RESULTS.md).
                if (NaiveAttention) return AttnAlgo.Naive;
                return _blas is not null && d <= GemmAttentionMaxHeadDim ? AttnAlgo.Gemm : AttnAlgo.Tiled;
            case "mma":
                if (MmaAttentionCovers(dt, d)) return AttnAlgo.Mma;
                var other = _blas is not null && d <= GemmAttentionMaxHeadDim ? AttnAlgo.Gemm : AttnAlgo.Tiled;
                NoteFallback(dt, d, other);
                return other;
            case "naive": return AttnAlgo.Naive;
            case "tiled": return AttnAlgo.Tiled;
            case "gemm": return AttnAlgo.Gemm;
            case "cublas": return _blas is not null ? AttnAlgo.Gemm : NaiveAttention ? AttnAlgo.Naive : AttnAlgo.Tiled;
            default: throw new NotSupportedException($"LORS_CUDA_ATTENTION={AttentionAlgorithm}: expected mma, tiled, naive, cublas or gemm");
        }
    }

    private static int Tiles(int n, int tile) => (n + tile - 1) / tile;

    private static AttnArgs AttnShape(string op, Tensor q, Tensor k, float scale, params Tensor[] sameType) => AttnShape(op, true, q, k, scale, sameType);

    private static AttnArgs AttnShape(string op, bool limitDim, Tensor q, Tensor k, float scale, params Tensor[] sameType)
    {
        int dt = Ft(op, q);
        SameType(op, q, sameType);
        int d = q.Shape[3];
        if (limitDim && d > AttentionKernels.MaxHeadDim) throw new NotSupportedException($"{op}: head dim {d} exceeds {AttentionKernels.MaxHeadDim} on CUDA");
        var a = new AttnArgs { B = q.Shape[0], Hq = q.Shape[1], T = q.Shape[2], D = d, Hkv = k.Shape[1], S = k.Shape[2], DType = dt, Scale = scale };
        Count(op, (long)a.B * a.Hq * a.T * 32);
        Count(op, (long)a.B * a.Hkv * a.S * 32);
        return a;
    }

    private static KernelConfig PerWarpRow(long rows) =>
        new((int)((rows + AttentionKernels.WarpsPerBlock - 1) / AttentionKernels.WarpsPerBlock), AttentionKernels.WarpsPerBlock * 32);

    public void Attention(Tensor q, Tensor k, Tensor v, float scale, Tensor output, Tensor lse) =>
        Attention(q, k, v, scale, output, lse, MmaOrOther(PickAttention(q.Shape[3], q.DType), q.Shape[3], q, k, v, output));

    internal void Attention(Tensor q, Tensor k, Tensor v, float scale, Tensor output, Tensor lse, AttnAlgo algo)
    {
        var a = AttnShape("Attention", algo != AttnAlgo.Gemm, q, k, scale, k, v, output);
        long rows = (long)a.B * a.Hq * a.T;
        if (rows == 0 || a.D == 0) return;
        if (algo == AttnAlgo.Gemm) { AttentionGemm(q, k, v, output, lse, a); return; }
        if (algo == AttnAlgo.Mma) { AttentionMmaForward(q, k, v, output, lse, a); return; }
        var qv = Bytes(q); var kv = Bytes(k); var vv = Bytes(v); var ov = Bytes(output); var lv = F32(lse);
        if (algo != AttnAlgo.Naive)
        {
            var cfg = new KernelConfig(checked(a.B * a.Hq * Tiles(a.T, AttentionTiledKernels.RowTile)), AttentionTiledKernels.Threads);
            Run("Attention", () => (_kFlash ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>(AttentionTiledKernels.Forward))(cfg, qv, kv, vv, ov, lv, a));
            return;
        }
        Run("Attention", () => (_kAttn ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>(AttentionKernels.Forward))(PerWarpRow(rows), qv, kv, vv, ov, lv, a));
    }

    public void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, Tensor gOut, float scale, Tensor gq, Tensor gk, Tensor gv) =>
        AttentionBackward(q, k, v, output, lse, gOut, scale, gq, gk, gv, MmaOrOther(PickAttention(q.Shape[3], q.DType), q.Shape[3], q, k, v, output, gOut, gq, gk, gv));

    internal void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, Tensor gOut, float scale, Tensor gq, Tensor gk, Tensor gv, AttnAlgo algo)
    {
        const string op = "AttentionBackward";
        var a = AttnShape(op, algo != AttnAlgo.Gemm, q, k, scale, k, v, output, gOut, gq, gk, gv);
        long rows = (long)a.B * a.Hq * a.T, keyRows = (long)a.B * a.Hkv * a.S;
        if (rows == 0 || a.D == 0) return;
        if (algo == AttnAlgo.Gemm) { AttentionBackwardGemm(q, k, v, output, lse, gOut, gq, gk, gv, a); return; }
        if (algo == AttnAlgo.Mma) { AttentionMmaBackward(q, k, v, output, lse, gOut, gq, gk, gv, a); return; }
        using var delta = Tensor.Empty([checked((int)rows)], DType.F32, Device);
        var qv = Bytes(q); var kv = Bytes(k); var vv = Bytes(v); var ov = Bytes(output); var lv = F32(lse); var gov = Bytes(gOut);
        var dv = F32(delta); var gqv = Bytes(gq); var gkv = Bytes(gk); var gvv = Bytes(gv);
        Run(op, () => (_kAttnDelta ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>(AttentionKernels.Delta))(PerWarpRow(rows), ov, gov, dv, a));
        if (algo != AttnAlgo.Naive)
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

    // ---- GEMM (cuBLAS) path ------------------------------------------------------------------------------

    /// <summary>
    /// How many kv-head groups (nz) and query rows per group (rc) one chunk holds so that perRow * nz * rc stays within
    /// the scratch budget: whole groups batched while at least one fits, otherwise one group in chunks of rc rows.
    /// </summary>
    internal static (int nz, int rc) AttnGemmPlan(int groups, int rowsPerGroup, long bytesPerRow)
    {
        long rows = Math.Max(1, AttentionScratchBytes / Math.Max(1, bytesPerRow));
        if (rows >= rowsPerGroup) return ((int)Math.Min(groups, rows / rowsPerGroup), rowsPerGroup);
        int rc = (int)rows;
        if (rc > 256) rc -= rc % 256;
        return (1, rc);
    }

    private KernelConfig AttnRowConfig(int rows) => new(rows, RowThreads);

    private void AttentionGemm(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, AttnArgs a)
    {
        const string op = "Attention";
        int g = a.Hq / a.Hkv, z = a.B * a.Hkv, r = g * a.T, s = a.S, d = a.D;
        var dt = q.DType;
        bool inPlace = dt == DType.F32; // P overwrites the F32 scores
        var (nz, rc) = AttnGemmPlan(z, r, (long)s * (4 + (inPlace ? 0 : dt.Size())));
        using var q3 = q.Reshape(z, r, d);
        using var k3 = k.Reshape(z, s, d);
        using var v3 = v.Reshape(z, s, d);
        using var o3 = output.Reshape(z, r, d);
        using var scAll = Tensor.Empty([nz, rc, s], DType.F32, Device);
        using var pAll = inPlace ? null : Tensor.Empty([nz, rc, s], dt, Device);
        var lv = F32(lse);
        for (int z0 = 0; z0 < z; z0 += nz)
        {
            int bz = Math.Min(nz, z - z0);
            using var kz = k3.Narrow(0, z0, bz);
            using var vz = v3.Narrow(0, z0, bz);
            for (int r0 = 0; r0 < r; r0 += rc)
            {
                int br = Math.Min(rc, r - r0);
                using var qc = Rows3(q3, z0, bz, r0, br);
                using var oc = Rows3(o3, z0, bz, r0, br);
                using var sc = Rows3(scAll, 0, bz, 0, br);
                using var p = pAll is null ? sc.View() : Rows3(pAll, 0, bz, 0, br);
                MatMul(qc, false, kz, true, sc);
                var args = new AttnRowArgs { S = s, T = a.T, DType = a.DType, Row0 = (long)z0 * r + r0, Scale = a.Scale };
                var scv = F32(sc); var pv = Bytes(p);
                int nrows = bz * br;
                Run(op, () => (_kAttnSoftmaxRows ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<byte>, ArrayView<float>, AttnRowArgs>(AttentionGemmKernels.CausalSoftmaxRows))(AttnRowConfig(nrows), scv, pv, lv, args));
                MatMul(p, false, vz, false, oc);
            }
        }
    }

    /// <summary>Rows [r0, r0+nr) of groups [z0, z0+nz) of a [Z, R, C] tensor (contiguous when nz == 1 or nr == R).</summary>
    private static Tensor Rows3(Tensor t3, int z0, int nz, int r0, int nr)
    {
        using var zs = t3.Narrow(0, z0, nz);
        return zs.Narrow(1, r0, nr);
    }

    private void AttentionBackwardGemm(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, Tensor gOut, Tensor gq, Tensor gk, Tensor gv, AttnArgs a)
    {
        const string op = "AttentionBackward";
        int g = a.Hq / a.Hkv, z = a.B * a.Hkv, r = g * a.T, s = a.S, d = a.D;
        var dt = q.DType;
        bool inPlace = dt == DType.F32; // P overwrites the scores and dS overwrites dP
        var (nz, rc) = AttnGemmPlan(z, r, (long)s * (8 + (inPlace ? 0 : 2 * dt.Size())));
        bool chunkedRows = rc < r;
        long rows = (long)a.B * a.Hq * a.T;
        using var delta = Tensor.Empty([checked((int)rows)], DType.F32, Device);
        {
            var ov = Bytes(output); var gov = Bytes(gOut); var dv = F32(delta);
            Run(op, () => (_kAttnRowDot ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>(AttentionGemmKernels.RowDot))(PerWarpRow(rows), ov, gov, dv, a));
        }
        using var q3 = q.Reshape(z, r, d);
        using var k3 = k.Reshape(z, s, d);
        using var v3 = v.Reshape(z, s, d);
        using var go3 = gOut.Reshape(z, r, d);
        using var gq3 = gq.Reshape(z, r, d);
        using var gk3 = gk.Reshape(z, s, d);
        using var gv3 = gv.Reshape(z, s, d);
        using var scAll = Tensor.Empty([nz, rc, s], DType.F32, Device);
        using var dpAll = Tensor.Empty([nz, rc, s], DType.F32, Device);
        using var pAll = inPlace ? null : Tensor.Empty([nz, rc, s], dt, Device);
        using var dsAll = inPlace ? null : Tensor.Empty([nz, rc, s], dt, Device);
        // Row-chunked groups accumulate dK, dV over the chunks in F32 (beta = 1), then convert once.
        using var gkAcc = chunkedRows && !inPlace ? Tensor.Empty([1, s, d], DType.F32, Device) : null;
        using var gvAcc = chunkedRows && !inPlace ? Tensor.Empty([1, s, d], DType.F32, Device) : null;
        var lv = F32(lse); var dlv = F32(delta);
        for (int z0 = 0; z0 < z; z0 += nz)
        {
            int bz = Math.Min(nz, z - z0);
            using var kz = k3.Narrow(0, z0, bz);
            using var vz = v3.Narrow(0, z0, bz);
            using var gkz = gk3.Narrow(0, z0, bz);
            using var gvz = gv3.Narrow(0, z0, bz);
            var gkT = gkAcc ?? gkz;
            var gvT = gvAcc ?? gvz;
            for (int r0 = 0; r0 < r; r0 += rc)
            {
                int br = Math.Min(rc, r - r0);
                using var qc = Rows3(q3, z0, bz, r0, br);
                using var goc = Rows3(go3, z0, bz, r0, br);
                using var gqc = Rows3(gq3, z0, bz, r0, br);
                using var sc = Rows3(scAll, 0, bz, 0, br);
                using var dp = Rows3(dpAll, 0, bz, 0, br);
                using var p = pAll is null ? sc.View() : Rows3(pAll, 0, bz, 0, br);
                using var ds = dsAll is null ? dp.View() : Rows3(dsAll, 0, bz, 0, br);
                MatMul(qc, false, kz, true, sc);
                MatMul(goc, false, vz, true, dp);
                var args = new AttnRowArgs { S = s, T = a.T, DType = a.DType, Row0 = (long)z0 * r + r0, Scale = a.Scale };
                var scv = F32(sc); var dpv = F32(dp); var pv = Bytes(p); var dsv = Bytes(ds);
                int nrows = bz * br;
                Run(op, () => (_kAttnSoftmaxBackRows ??= _acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, AttnRowArgs>(AttentionGemmKernels.CausalSoftmaxBackwardRows))(AttnRowConfig(nrows), scv, dpv, lv, dlv, pv, dsv, args));
                float beta = r0 == 0 ? 0f : 1f;
                MatMul(p, true, goc, false, gvT, 1f, beta);          // dV = P^T dO
                MatMul(ds, true, qc, false, gkT, a.Scale, beta);     // dK = scale dS^T Q (summed over the group's heads)
                MatMul(ds, false, kz, false, gqc, a.Scale, 0f);      // dQ = scale dS K
            }
            if (gkAcc is not null) { Copy(gkAcc, gkz); Copy(gvAcc!, gvz); }
        }
    }
}
