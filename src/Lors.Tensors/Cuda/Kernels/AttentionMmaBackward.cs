// Backward of the tensor-core causal attention (FlashAttention-2 style, deterministic: no atomics), given
// delta = rowsum(dO * O) (F32 [B, Hq, T]) and the forward's lse. P is recomputed from lse; dS = P (dP - delta).
//  - BackwardQ: one CTA of 4 warps per (batch, q-head, 64 query rows), keys in blocks of 32 up to the causal limit:
//    S = Q K^T, dP = dO V^T, dQ += dS K (Q, dO fragments and dQ in registers).
//  - BackwardKV: one CTA per (batch, kv-head, 64 keys), warp w owning keys j0 + 16w .. +15, looping over the group's
//    q-heads and over query blocks of 16 from the causal start: S^T = K Q^T, dP^T = V dO^T, dV += P^T dO,
//    dK += dS^T Q (K, V tiles in shared memory, dK, dV in registers), so GQA needs no reduction pass.
// q, go, gq [B, Hq, T, D]; k, v, gk, gv [B, Hkv, S, D] (BF16 or F16, D a multiple of 16 up to 128).
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

internal static partial class AttentionMma
{
    public const int DqRows = 64, DqKeys = 32, KvKeys = 64, KvRows = 16;

    /// <summary>dS of one column tile (keys j, j + 1; rows g / g + 8 with base-2 lse l0 / l1 and delta d0 / d1), 0 where masked.</summary>
    internal static Frag Ds(Frag s, Frag dp, float sl, bool diag, int j, int lim0, int lim1, float l0, float l1, float d0, float d1)
    {
        float p0 = XMath.Exp2(s.X * sl - l0), p1 = XMath.Exp2(s.Y * sl - l0), p2 = XMath.Exp2(s.Z * sl - l1), p3 = XMath.Exp2(s.W * sl - l1);
        if (diag)
        {
            if (j > lim0) p0 = 0f;
            if (j + 1 > lim0) p1 = 0f;
            if (j > lim1) p2 = 0f;
            if (j + 1 > lim1) p3 = 0f;
        }
        return new Frag { X = p0 * (dp.X - d0), Y = p1 * (dp.Y - d0), Z = p2 * (dp.Z - d1), W = p3 * (dp.W - d1) };
    }

    public static void BackwardQ<TM, TD>(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> go, ArrayView<float> lse, ArrayView<float> delta, ArrayView<byte> gq, AttnArgs a)
        where TM : struct, IMma<TM> where TD : struct, IHeadDim
    {
        const int Bc = DqKeys;
        var ks = SharedMemory.Allocate<uint>(Bc * MmaTile.MaxStride);
        var vs = SharedMemory.Allocate<uint>(Bc * MmaTile.MaxStride);
        var m = default(TM).WithScratch(SharedMemory.Allocate<uint>(default(TM).ScratchWords));
        int d = default(TD).D, w = d / 2, st = w + 4, nk = d / 16, nd = d / 8;
        int tid = Group.IdxX, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3, shift = (g & 1) * 16;
        int nbh = a.B * a.Hq, nqt = (a.T + DqRows - 1) / DqRows;
        int bh = Grid.IdxX % nbh, qt = nqt - 1 - Grid.IdxX / nbh;
        int h = bh % a.Hq, b = bh / a.Hq, hk = h / (a.Hq / a.Hkv);
        long qb = (long)bh * a.T * w, kb = ((long)b * a.Hkv + hk) * a.S * w, lb = (long)bh * a.T;
        var q32 = q.Cast<uint>(); var k32 = k.Cast<uint>(); var v32 = v.Cast<uint>(); var go32 = go.Cast<uint>(); var gq32 = gq.Cast<uint>();
        int off = a.S - a.T, t0 = qt * DqRows, wr = t0 + warp * 16, r0 = wr + g, r1 = r0 + 8;
        int c0 = r0 < a.T ? r0 : a.T - 1, c1 = r1 < a.T ? r1 : a.T - 1;
        int lim0 = off + c0, lim1 = off + c1;
        int lastRow = t0 + DqRows - 1 < a.T - 1 ? t0 + DqRows - 1 : a.T - 1;
        int wLast = wr + 15 < a.T - 1 ? wr + 15 : a.T - 1;
        int kEnd = off + lastRow + 1, wEnd = wr < a.T ? off + wLast + 1 : 0;

        var qf = MmaFrags.LoadA(q32, qb + (long)c0 * w + t, qb + (long)c1 * w + t, nk);
        var df = MmaFrags.LoadA(go32, qb + (long)c0 * w + t, qb + (long)c1 * w + t, nk);
        float l0 = lse[lb + c0] * MmaTile.Log2E, l1 = lse[lb + c1] * MmaTile.Log2E, d0 = delta[lb + c0], d1 = delta[lb + c1];
        float sl = a.Scale * MmaTile.Log2E;
        var acc = default(Frag16);
        int ib = g * st + t, jt = 2 * t;
        for (int j0 = 0; j0 < kEnd; j0 += Bc)
        {
            Group.Barrier();
            MmaTile.LoadTile(ks, k32, kb, j0, a.S, Bc, w, st, tid);
            MmaTile.LoadTile(vs, v32, kb, j0, a.S, Bc, w, st, tid);
            Group.Barrier();
            if (j0 >= wEnd) continue;

            var s = MmaFrags.Mul4(m, qf, ks, st, ib, nk);
            var dp = MmaFrags.Mul4(m, df, vs, st, ib, nk);
            bool diag = j0 + Bc - 1 > off + wr;
            int j = j0 + jt;
            var x0 = Ds(s.F0, dp.F0, sl, diag, j, lim0, lim1, l0, l1, d0, d1);
            var x1 = Ds(s.F1, dp.F1, sl, diag, j + 8, lim0, lim1, l0, l1, d0, d1);
            var x2 = Ds(s.F2, dp.F2, sl, diag, j + 16, lim0, lim1, l0, l1, d0, d1);
            var x3 = Ds(s.F3, dp.F3, sl, diag, j + 24, lim0, lim1, l0, l1, d0, d1);
            acc = MmaFrags.Acc(m, acc, MmaFrags.PackA(m, x0, x1), ks, st, jt, g, shift, nd);
            acc = MmaFrags.Acc(m, acc, MmaFrags.PackA(m, x2, x3), ks, st, 16 + jt, g, shift, nd);
        }
        MmaFrags.Store(m, gq32, qb + (long)r0 * w + t, qb + (long)r1 * w + t, r0 < a.T, r1 < a.T, acc, a.Scale, a.Scale, nd);
    }

    /// <summary>P^T of one column tile of queries (q, q + 1 at local index qi) for keys k0 (X, Y) and k1 (Z, W); 0 where masked.</summary>
    internal static Frag PT(Frag s, float sl, ArrayView<float> ls, int qi, int q, bool diag, int k0, int k1, int off)
    {
        float la = ls[qi], lc = ls[qi + 1];
        var p = new Frag { X = XMath.Exp2(s.X * sl - la), Y = XMath.Exp2(s.Y * sl - lc), Z = XMath.Exp2(s.Z * sl - la), W = XMath.Exp2(s.W * sl - lc) };
        if (diag)
        {
            if (k0 > off + q) p.X = 0f;
            if (k0 > off + q + 1) p.Y = 0f;
            if (k1 > off + q) p.Z = 0f;
            if (k1 > off + q + 1) p.W = 0f;
        }
        return p;
    }

    internal static Frag DsT(Frag p, Frag dp, ArrayView<float> ds, int qi)
    {
        float da = ds[qi], dc = ds[qi + 1];
        return new Frag { X = p.X * (dp.X - da), Y = p.Y * (dp.Y - dc), Z = p.Z * (dp.Z - da), W = p.W * (dp.W - dc) };
    }

    public static void BackwardKV<TM, TD>(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> go, ArrayView<float> lse, ArrayView<float> delta, ArrayView<byte> gk, ArrayView<byte> gv, AttnArgs a)
        where TM : struct, IMma<TM> where TD : struct, IHeadDim
    {
        var ks = SharedMemory.Allocate<uint>(KvKeys * MmaTile.MaxStride);
        var vs = SharedMemory.Allocate<uint>(KvKeys * MmaTile.MaxStride);
        var qs = SharedMemory.Allocate<uint>(KvRows * MmaTile.MaxStride);
        var dos = SharedMemory.Allocate<uint>(KvRows * MmaTile.MaxStride);
        var ls = SharedMemory.Allocate<float>(KvRows);
        var dls = SharedMemory.Allocate<float>(KvRows);
        var m = default(TM).WithScratch(SharedMemory.Allocate<uint>(default(TM).ScratchWords));
        int d = default(TD).D, w = d / 2, st = w + 4, nk = d / 16, nd = d / 8;
        int tid = Group.IdxX, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3, shift = (g & 1) * 16;
        int nbk = a.B * a.Hkv;
        int bk = Grid.IdxX % nbk, kt = Grid.IdxX / nbk; // lowest (heaviest) key tiles first
        int b = bk / a.Hkv, hk = bk % a.Hkv, group = a.Hq / a.Hkv;
        long kb = (long)bk * a.S * w;
        var q32 = q.Cast<uint>(); var k32 = k.Cast<uint>(); var v32 = v.Cast<uint>(); var go32 = go.Cast<uint>();
        int off = a.S - a.T, j0 = kt * KvKeys, wk = j0 + warp * 16, k0 = wk + g, k1 = k0 + 8;
        MmaTile.LoadTile(ks, k32, kb, j0, a.S, KvKeys, w, st, tid);
        MmaTile.LoadTile(vs, v32, kb, j0, a.S, KvKeys, w, st, tid);
        // The first query that sees key j is j - off; this CTA's keys start at j0, this warp's at wk.
        int qStart = j0 - off < 0 ? 0 : (j0 - off) / KvRows * KvRows;
        int wFirst = wk - off; // this warp skips query blocks that end before wFirst, and all work when its keys are past S
        float sl = a.Scale * MmaTile.Log2E;
        var dk = default(Frag16);
        var dv = default(Frag16);
        int ia0 = (warp * 16 + g) * st + t, ia1 = ia0 + 8 * st, ib = g * st + t, jt = 2 * t;
        for (int gi = 0; gi < group; gi++)
        {
            long bh = (long)b * a.Hq + hk * group + gi;
            long qb = bh * a.T * w, lb = bh * a.T;
            for (int q0 = qStart; q0 < a.T; q0 += KvRows)
            {
                Group.Barrier();
                MmaTile.LoadTile(qs, q32, qb, q0, a.T, KvRows, w, st, tid);
                MmaTile.LoadTile(dos, go32, qb, q0, a.T, KvRows, w, st, tid);
                if (tid < KvRows)
                {
                    bool ok = q0 + tid < a.T;
                    ls[tid] = ok ? lse[lb + q0 + tid] * MmaTile.Log2E : float.PositiveInfinity; // exp2(s - inf) = 0 past T
                    dls[tid] = ok ? delta[lb + q0 + tid] : 0f;
                }
                Group.Barrier();
                if (q0 + KvRows - 1 < wFirst || wk >= a.S) continue;

                var s = MmaFrags.Mul2S(m, ks, ia0, ia1, qs, st, ib, nk);
                var dp = MmaFrags.Mul2S(m, vs, ia0, ia1, dos, st, ib, nk);
                bool diag = wk + 15 > off + q0;
                var p0 = PT(s.F0, sl, ls, jt, q0 + jt, diag, k0, k1, off);
                var p1 = PT(s.F1, sl, ls, 8 + jt, q0 + 8 + jt, diag, k0, k1, off);
                var x0 = DsT(p0, dp.F0, dls, jt);
                var x1 = DsT(p1, dp.F1, dls, 8 + jt);
                dv = MmaFrags.Acc(m, dv, MmaFrags.PackA(m, p0, p1), dos, st, jt, g, shift, nd);
                dk = MmaFrags.Acc(m, dk, MmaFrags.PackA(m, x0, x1), qs, st, jt, g, shift, nd);
            }
        }
        long o0 = kb + (long)k0 * w + t, o1 = kb + (long)k1 * w + t;
        MmaFrags.Store(m, gk.Cast<uint>(), o0, o1, k0 < a.S, k1 < a.S, dk, a.Scale, a.Scale, nd);
        MmaFrags.Store(m, gv.Cast<uint>(), o0, o1, k0 < a.S, k1 < a.S, dv, 1f, 1f, nd);
    }
}
