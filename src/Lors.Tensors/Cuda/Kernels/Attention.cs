// Causal GQA attention, one warp per row: q [B,Hq,T,D], k/v [B,Hkv,S,D], D <= 128 (each lane owns dims lane + 32j).
// Forward uses an online softmax over keys; backward recomputes probabilities from lse: one kernel for gq (warp per
// query), one for gk/gv (warp per key, looping over the query heads of its group), so no atomics are needed.
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

internal struct AttnArgs
{
    public int B, Hq, Hkv, T, S, D, DType;
    public float Scale;
}

internal static class AttentionKernels
{
    public const int WarpsPerBlock = 4;
    public const int MaxHeadDim = 128;

    private static float Get(ArrayView<byte> x, int dt, long b, int d, int dim) => d < dim ? Elem.Ld(x, dt, b + d) : 0f;

    private static float Dot4(ArrayView<byte> x, int dt, long b, int lane, int dim, float a0, float a1, float a2, float a3)
    {
        float s = a0 * Get(x, dt, b, lane, dim);
        if (dim > 32) s += a1 * Get(x, dt, b, lane + 32, dim);
        if (dim > 64) s += a2 * Get(x, dt, b, lane + 64, dim);
        if (dim > 96) s += a3 * Get(x, dt, b, lane + 96, dim);
        return Block.WarpSum(s);
    }

    private static void Put(ArrayView<byte> x, int dt, long b, int lane, int dim, float a0, float a1, float a2, float a3)
    {
        if (lane < dim) Elem.St(x, dt, b + lane, a0);
        if (lane + 32 < dim) Elem.St(x, dt, b + lane + 32, a1);
        if (lane + 64 < dim) Elem.St(x, dt, b + lane + 64, a2);
        if (lane + 96 < dim) Elem.St(x, dt, b + lane + 96, a3);
    }

    public static void Forward(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> o, ArrayView<float> lse, AttnArgs a)
    {
        int row = Grid.IdxX * WarpsPerBlock + Warp.WarpIdx;
        if (row >= a.B * a.Hq * a.T) return; // whole warps leave together: no block barriers here
        int lane = Warp.LaneIdx, dt = a.DType, dim = a.D;
        int t = row % a.T, bh = row / a.T, h = bh % a.Hq, b = bh / a.Hq;
        int hk = h / (a.Hq / a.Hkv);
        long qb = (long)row * dim, kb = ((long)b * a.Hkv + hk) * a.S * dim;
        int last = a.S - a.T + t;
        float q0 = Get(q, dt, qb, lane, dim) * a.Scale, q1 = Get(q, dt, qb, lane + 32, dim) * a.Scale;
        float q2 = Get(q, dt, qb, lane + 64, dim) * a.Scale, q3 = Get(q, dt, qb, lane + 96, dim) * a.Scale;
        float m = float.NegativeInfinity, l = 0f, o0 = 0f, o1 = 0f, o2 = 0f, o3 = 0f;
        for (int j = 0; j <= last; j++)
        {
            long kj = kb + (long)j * dim;
            float s = Dot4(k, dt, kj, lane, dim, q0, q1, q2, q3); // identical on every lane (butterfly sum)
            float corr = 1f, p = 1f;
            if (s > m) { corr = XMath.Exp(m - s); m = s; }
            else p = XMath.Exp(s - m);
            l = l * corr + p;
            o0 = o0 * corr + p * Get(v, dt, kj, lane, dim);
            o1 = o1 * corr + p * Get(v, dt, kj, lane + 32, dim);
            o2 = o2 * corr + p * Get(v, dt, kj, lane + 64, dim);
            o3 = o3 * corr + p * Get(v, dt, kj, lane + 96, dim);
        }
        float inv = 1f / l;
        Put(o, dt, qb, lane, dim, o0 * inv, o1 * inv, o2 * inv, o3 * inv);
        if (lane == 0) lse[row] = m + XMath.Log(l);
    }

    /// <summary>delta[row] = sum_d gOut[row, d] * out[row, d].</summary>
    public static void Delta(ArrayView<byte> o, ArrayView<byte> go, ArrayView<float> delta, AttnArgs a)
    {
        int row = Grid.IdxX * WarpsPerBlock + Warp.WarpIdx;
        if (row >= a.B * a.Hq * a.T) return;
        int lane = Warp.LaneIdx, dt = a.DType, dim = a.D;
        long rb = (long)row * dim;
        float s = Dot4(o, dt, rb, lane, dim, Get(go, dt, rb, lane, dim), Get(go, dt, rb, lane + 32, dim), Get(go, dt, rb, lane + 64, dim), Get(go, dt, rb, lane + 96, dim));
        if (lane == 0) delta[row] = s;
    }

    /// <summary>gq[t] = scale * sum_j p_tj (dO_t . v_j - delta_t) k_j, one warp per query row.</summary>
    public static void BackwardQ(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> go, ArrayView<float> lse, ArrayView<float> delta, ArrayView<byte> gq, AttnArgs a)
    {
        int row = Grid.IdxX * WarpsPerBlock + Warp.WarpIdx;
        if (row >= a.B * a.Hq * a.T) return;
        int lane = Warp.LaneIdx, dt = a.DType, dim = a.D;
        int t = row % a.T, bh = row / a.T, h = bh % a.Hq, b = bh / a.Hq;
        int hk = h / (a.Hq / a.Hkv);
        long qb = (long)row * dim, kb = ((long)b * a.Hkv + hk) * a.S * dim;
        int last = a.S - a.T + t;
        float q0 = Get(q, dt, qb, lane, dim) * a.Scale, q1 = Get(q, dt, qb, lane + 32, dim) * a.Scale;
        float q2 = Get(q, dt, qb, lane + 64, dim) * a.Scale, q3 = Get(q, dt, qb, lane + 96, dim) * a.Scale;
        float g0 = Get(go, dt, qb, lane, dim), g1 = Get(go, dt, qb, lane + 32, dim);
        float g2 = Get(go, dt, qb, lane + 64, dim), g3 = Get(go, dt, qb, lane + 96, dim);
        float l = lse[row], dl = delta[row];
        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f;
        for (int j = 0; j <= last; j++)
        {
            long kj = kb + (long)j * dim;
            float p = XMath.Exp(Dot4(k, dt, kj, lane, dim, q0, q1, q2, q3) - l);
            float ds = p * (Dot4(v, dt, kj, lane, dim, g0, g1, g2, g3) - dl);
            a0 += ds * Get(k, dt, kj, lane, dim);
            a1 += ds * Get(k, dt, kj, lane + 32, dim);
            a2 += ds * Get(k, dt, kj, lane + 64, dim);
            a3 += ds * Get(k, dt, kj, lane + 96, dim);
        }
        Put(gq, dt, qb, lane, dim, a0 * a.Scale, a1 * a.Scale, a2 * a.Scale, a3 * a.Scale);
    }

    /// <summary>gk[j], gv[j] for one key row, summed over the Hq/Hkv query heads sharing it and the queries that see it.</summary>
    public static void BackwardKV(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> go, ArrayView<float> lse, ArrayView<float> delta, ArrayView<byte> gk, ArrayView<byte> gv, AttnArgs a)
    {
        int row = Grid.IdxX * WarpsPerBlock + Warp.WarpIdx;
        if (row >= a.B * a.Hkv * a.S) return;
        int lane = Warp.LaneIdx, dt = a.DType, dim = a.D;
        int j = row % a.S, bh = row / a.S, hk = bh % a.Hkv, b = bh / a.Hkv;
        int group = a.Hq / a.Hkv;
        long kj = (long)row * dim;
        float k0 = Get(k, dt, kj, lane, dim) * a.Scale, k1 = Get(k, dt, kj, lane + 32, dim) * a.Scale;
        float k2 = Get(k, dt, kj, lane + 64, dim) * a.Scale, k3 = Get(k, dt, kj, lane + 96, dim) * a.Scale;
        float v0 = Get(v, dt, kj, lane, dim), v1 = Get(v, dt, kj, lane + 32, dim);
        float v2 = Get(v, dt, kj, lane + 64, dim), v3 = Get(v, dt, kj, lane + 96, dim);
        float dk0 = 0f, dk1 = 0f, dk2 = 0f, dk3 = 0f, dv0 = 0f, dv1 = 0f, dv2 = 0f, dv3 = 0f;
        int t0 = j - (a.S - a.T);
        if (t0 < 0) t0 = 0;
        for (int hh = 0; hh < group; hh++)
        {
            int h = hk * group + hh;
            for (int t = t0; t < a.T; t++)
            {
                int qr = (b * a.Hq + h) * a.T + t;
                long qb = (long)qr * dim;
                float p = XMath.Exp(Dot4(q, dt, qb, lane, dim, k0, k1, k2, k3) - lse[qr]);
                float g0 = Get(go, dt, qb, lane, dim), g1 = Get(go, dt, qb, lane + 32, dim);
                float g2 = Get(go, dt, qb, lane + 64, dim), g3 = Get(go, dt, qb, lane + 96, dim);
                dv0 += p * g0; dv1 += p * g1; dv2 += p * g2; dv3 += p * g3;
                float dp = Block.WarpSum(g0 * v0 + g1 * v1 + g2 * v2 + g3 * v3);
                float ds = p * (dp - delta[qr]);
                dk0 += ds * Get(q, dt, qb, lane, dim);
                dk1 += ds * Get(q, dt, qb, lane + 32, dim);
                dk2 += ds * Get(q, dt, qb, lane + 64, dim);
                dk3 += ds * Get(q, dt, qb, lane + 96, dim);
            }
        }
        Put(gk, dt, kj, lane, dim, dk0 * a.Scale, dk1 * a.Scale, dk2 * a.Scale, dk3 * a.Scale);
        Put(gv, dt, kj, lane, dim, dv0, dv1, dv2, dv3);
    }
}
