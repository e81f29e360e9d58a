// Forward of the tensor-core (mma.sync m16n8k16) causal attention, FlashAttention-2 style: one CTA of 4 warps per
// (batch, q-head, 64 query rows), warp w owning rows t0 + 16w .. +15. Per block of 64 keys (only up to the causal
// limit; the mask is applied only where the block crosses the diagonal): S = Q K^T on tensor cores, online softmax
// in fp32 registers (base-2 exponentials), O += P V with P taken straight from the S accumulators.
// q, o [B, Hq, T, D]; k, v [B, Hkv, S, D] (BF16 or F16, D a multiple of 16 up to 128); lse F32 [B, Hq, T].
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

internal static partial class AttentionMma
{
    public const int FwdRows = 64, FwdKeys = 64;

    /// <summary>Scaled (base-2) scores of one column tile with keys j, j + 1 masked past lim0 (row g) / lim1 (row g + 8).</summary>
    internal static Frag MaskScale(Frag f, float sl, bool diag, int j, int lim0, int lim1)
    {
        var r = new Frag { X = f.X * sl, Y = f.Y * sl, Z = f.Z * sl, W = f.W * sl };
        if (diag)
        {
            if (j > lim0) r.X = float.NegativeInfinity;
            if (j + 1 > lim0) r.Y = float.NegativeInfinity;
            if (j > lim1) r.Z = float.NegativeInfinity;
            if (j + 1 > lim1) r.W = float.NegativeInfinity;
        }
        return r;
    }

    internal static Frag Exp2Rows(Frag f, float n0, float n1) =>
        new() { X = XMath.Exp2(f.X - n0), Y = XMath.Exp2(f.Y - n0), Z = XMath.Exp2(f.Z - n1), W = XMath.Exp2(f.W - n1) };

    private static float M0(Frag f) => MmaTile.Max(f.X, f.Y);
    private static float M1(Frag f) => MmaTile.Max(f.Z, f.W);

    public static void Forward<TM, TD>(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> o, ArrayView<float> lse, AttnArgs a)
        where TM : struct, IMma<TM> where TD : struct, IHeadDim
    {
        const int Bc = FwdKeys;
        var ks = SharedMemory.Allocate<uint>(Bc * MmaTile.MaxStride);
        var vs = SharedMemory.Allocate<uint>(Bc * MmaTile.MaxStride);
        var m = default(TM).WithScratch(SharedMemory.Allocate<uint>(default(TM).ScratchWords));
        int d = default(TD).D, w = d / 2, st = w + 4, nk = d / 16, nd = d / 8;
        int tid = Group.IdxX, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3, shift = (g & 1) * 16;
        int nbh = a.B * a.Hq, nqt = (a.T + FwdRows - 1) / FwdRows;
        int bh = Grid.IdxX % nbh, qt = nqt - 1 - Grid.IdxX / nbh; // heaviest (last) query tiles first
        int h = bh % a.Hq, b = bh / a.Hq, hk = h / (a.Hq / a.Hkv);
        long qb = (long)bh * a.T * w, kb = ((long)b * a.Hkv + hk) * a.S * w;
        var q32 = q.Cast<uint>(); var k32 = k.Cast<uint>(); var v32 = v.Cast<uint>(); var o32 = o.Cast<uint>();
        int off = a.S - a.T, t0 = qt * FwdRows, wr = t0 + warp * 16, r0 = wr + g, r1 = r0 + 8;
        // Rows past T compute as row T - 1 (finite values, never stored); every row sees key 0, so maxima stay finite.
        int c0 = r0 < a.T ? r0 : a.T - 1, c1 = r1 < a.T ? r1 : a.T - 1;
        int lim0 = off + c0, lim1 = off + c1;
        int lastRow = t0 + FwdRows - 1 < a.T - 1 ? t0 + FwdRows - 1 : a.T - 1;
        int wLast = wr + 15 < a.T - 1 ? wr + 15 : a.T - 1;
        int kEnd = off + lastRow + 1, wEnd = wr < a.T ? off + wLast + 1 : 0;

        var qf = MmaFrags.LoadA(q32, qb + (long)c0 * w + t, qb + (long)c1 * w + t, nk);
        var acc = default(Frag16);
        float m0 = float.NegativeInfinity, m1 = float.NegativeInfinity, l0 = 0f, l1 = 0f;
        float sl = a.Scale * MmaTile.Log2E;
        int ib = g * st + t, jt = 2 * t;
        for (int j0 = 0; j0 < kEnd; j0 += Bc)
        {
            Group.Barrier();
            MmaTile.LoadTile(ks, k32, kb, j0, a.S, Bc, w, st, tid);
            MmaTile.LoadTile(vs, v32, kb, j0, a.S, Bc, w, st, tid);
            Group.Barrier();
            if (j0 >= wEnd) continue; // the whole block is masked for this warp's rows (warp-uniform)

            var s = MmaFrags.Mul8(m, qf, ks, st, ib, nk);
            bool diag = j0 + Bc - 1 > off + wr;
            int j = j0 + jt;
            s.F0 = MaskScale(s.F0, sl, diag, j, lim0, lim1);
            s.F1 = MaskScale(s.F1, sl, diag, j + 8, lim0, lim1);
            s.F2 = MaskScale(s.F2, sl, diag, j + 16, lim0, lim1);
            s.F3 = MaskScale(s.F3, sl, diag, j + 24, lim0, lim1);
            s.F4 = MaskScale(s.F4, sl, diag, j + 32, lim0, lim1);
            s.F5 = MaskScale(s.F5, sl, diag, j + 40, lim0, lim1);
            s.F6 = MaskScale(s.F6, sl, diag, j + 48, lim0, lim1);
            s.F7 = MaskScale(s.F7, sl, diag, j + 56, lim0, lim1);
            float mx0 = MmaTile.Max(MmaTile.Max(MmaTile.Max(M0(s.F0), M0(s.F1)), MmaTile.Max(M0(s.F2), M0(s.F3))),
                MmaTile.Max(MmaTile.Max(M0(s.F4), M0(s.F5)), MmaTile.Max(M0(s.F6), M0(s.F7))));
            float mx1 = MmaTile.Max(MmaTile.Max(MmaTile.Max(M1(s.F0), M1(s.F1)), MmaTile.Max(M1(s.F2), M1(s.F3))),
                MmaTile.Max(MmaTile.Max(M1(s.F4), M1(s.F5)), MmaTile.Max(M1(s.F6), M1(s.F7))));
            float n0 = MmaTile.Max(m0, MmaTile.Max4(mx0)), n1 = MmaTile.Max(m1, MmaTile.Max4(mx1));
            float f0 = XMath.Exp2(m0 - n0), f1 = XMath.Exp2(m1 - n1); // 0 on the first block (m = -inf)
            m0 = n0; m1 = n1;
            s.F0 = Exp2Rows(s.F0, n0, n1); s.F1 = Exp2Rows(s.F1, n0, n1); s.F2 = Exp2Rows(s.F2, n0, n1); s.F3 = Exp2Rows(s.F3, n0, n1);
            s.F4 = Exp2Rows(s.F4, n0, n1); s.F5 = Exp2Rows(s.F5, n0, n1); s.F6 = Exp2Rows(s.F6, n0, n1); s.F7 = Exp2Rows(s.F7, n0, n1);
            // lane-partial row sums; the quad is summed once at the end
            l0 = l0 * f0 + (s.F0.X + s.F0.Y + s.F1.X + s.F1.Y + s.F2.X + s.F2.Y + s.F3.X + s.F3.Y
                + s.F4.X + s.F4.Y + s.F5.X + s.F5.Y + s.F6.X + s.F6.Y + s.F7.X + s.F7.Y);
            l1 = l1 * f1 + (s.F0.Z + s.F0.W + s.F1.Z + s.F1.W + s.F2.Z + s.F2.W + s.F3.Z + s.F3.W
                + s.F4.Z + s.F4.W + s.F5.Z + s.F5.W + s.F6.Z + s.F6.W + s.F7.Z + s.F7.W);
            acc = MmaFrags.ScaleRows(acc, f0, f1, nd);
            acc = MmaFrags.Acc(m, acc, MmaFrags.PackA(m, s.F0, s.F1), vs, st, jt, g, shift, nd);
            acc = MmaFrags.Acc(m, acc, MmaFrags.PackA(m, s.F2, s.F3), vs, st, 16 + jt, g, shift, nd);
            acc = MmaFrags.Acc(m, acc, MmaFrags.PackA(m, s.F4, s.F5), vs, st, 32 + jt, g, shift, nd);
            acc = MmaFrags.Acc(m, acc, MmaFrags.PackA(m, s.F6, s.F7), vs, st, 48 + jt, g, shift, nd);
        }
        l0 = MmaTile.Sum4(l0); l1 = MmaTile.Sum4(l1);
        MmaFrags.Store(m, o32, qb + (long)r0 * w + t, qb + (long)r1 * w + t, r0 < a.T, r1 < a.T, acc, 1f / l0, 1f / l1, nd);
        if (t == 0)
        {
            long lb = (long)bh * a.T;
            if (r0 < a.T) lse[lb + r0] = (m0 + XMath.Log2(l0)) * MmaTile.Ln2;
            if (r1 < a.T) lse[lb + r1] = (m1 + XMath.Log2(l1)) * MmaTile.Ln2;
        }
    }
}
