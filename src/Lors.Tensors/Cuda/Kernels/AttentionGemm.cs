// Row kernels of the GEMM-based (cuBLAS tensor-core) attention path: the score matrix of a chunk of query rows,
// Sc [rows, S] in F32 (unscaled q.k), is turned into probabilities P (storage dtype) and lse, or, in the backward,
// together with dP = dO V^T into P and dS = P (dP - delta). One block per row; row i of the chunk is global row
// Row0 + i of [B*Hq*T] (so t = (Row0 + i) % T), and sees keys 0 .. S - T + t; masked entries are written as 0.
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

internal struct AttnRowArgs
{
    public int S, T, DType;
    public long Row0;
    public float Scale;
}

internal static class AttentionGemmKernels
{
    /// <summary>p[i, k] = exp(scale sc[i, k] - lse) for valid k (else 0); lse[Row0 + i] = max + log(sum).</summary>
    public static void CausalSoftmaxRows(ArrayView<float> sc, ArrayView<byte> p, ArrayView<float> lse, AttnRowArgs a)
    {
        var sh = SharedMemory.Allocate<float>(32);
        long grow = a.Row0 + Grid.IdxX;
        long b = (long)Grid.IdxX * a.S;
        int t = (int)(grow % a.T);
        int last = a.S - a.T + t;
        int tid = Group.IdxX, nt = Group.DimX;
        float m = float.NegativeInfinity, l = 0f;
        for (int k = tid; k <= last; k += nt)
        {
            float x = sc[b + k] * a.Scale;
            if (x > m) { l = l * XMath.Exp(m - x) + 1f; m = x; }
            else l += XMath.Exp(x - m);
        }
        float mx = Block.Max(m, sh);
        float part = m == float.NegativeInfinity ? 0f : l * XMath.Exp(m - mx);
        float sum = Block.Sum(part, sh);
        float ls = mx + XMath.Log(sum);
        if (tid == 0) lse[grow] = ls;
        for (int k = tid; k < a.S; k += nt)
        {
            float v = k <= last ? XMath.Exp(sc[b + k] * a.Scale - ls) : 0f;
            Elem.St(p, a.DType, b + k, v);
        }
    }

    /// <summary>
    /// Backward: p = exp(scale sc - lse), ds = p (dp - delta) for valid keys, 0 elsewhere. p may alias sc and ds may
    /// alias dp when the storage dtype is F32 (each element is read and then written by the same thread).
    /// </summary>
    public static void CausalSoftmaxBackwardRows(ArrayView<float> sc, ArrayView<float> dp, ArrayView<float> lse, ArrayView<float> delta,
        ArrayView<byte> p, ArrayView<byte> ds, AttnRowArgs a)
    {
        long grow = a.Row0 + Grid.IdxX;
        long b = (long)Grid.IdxX * a.S;
        int t = (int)(grow % a.T);
        int last = a.S - a.T + t;
        float ls = lse[grow], dl = delta[grow];
        for (int k = Group.IdxX; k < a.S; k += Group.DimX)
        {
            float pv = 0f, dv = 0f;
            if (k <= last)
            {
                pv = XMath.Exp(sc[b + k] * a.Scale - ls);
                dv = pv * (dp[b + k] - dl);
            }
            Elem.St(p, a.DType, b + k, pv);
            Elem.St(ds, a.DType, b + k, dv);
        }
    }

    /// <summary>delta[row] = sum_d gOut[row, d] * out[row, d], one warp per row, any head dim.</summary>
    public static void RowDot(ArrayView<byte> o, ArrayView<byte> go, ArrayView<float> delta, AttnArgs a)
    {
        long row = (long)Grid.IdxX * AttentionKernels.WarpsPerBlock + Warp.WarpIdx;
        if (row >= (long)a.B * a.Hq * a.T) return;
        int lane = Warp.LaneIdx, dt = a.DType;
        long rb = row * a.D;
        float s = 0f;
        for (int d = lane; d < a.D; d += 32) s += Elem.Ld(o, dt, rb + d) * Elem.Ld(go, dt, rb + d);
        s = Block.WarpSum(s);
        if (lane == 0) delta[row] = s;
    }
}
