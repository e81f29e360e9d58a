// The fused LoRS merge on CUDA: y [O, I] = (w != 0) ? w + s * (a b) : w, with a [O, r] and b [r, I] (F32 or BF16) and w, y
// in one float dtype. One block of 256 threads owns a 32 x 256 tile of W: the matching A rows and B columns are staged in
// shared memory (r in chunks of 16), each thread forms 4 rows x 8 adjacent columns of the rank-r product in registers and
// writes W' directly, so W is read once and W' written once (8 x 16-bit = one 16-byte load/store per row and thread).
using System.Runtime.CompilerServices;
using ILGPU;

namespace Lors.Tensors.Cuda.Kernels;

internal struct LowRankMergeArgs
{
    public int O, I, R, TW, TA, TB;
    /// <summary>1 when I % 8 == 0 and w, y start 16-byte aligned: whole 8-column groups move as 16/32-byte words.</summary>
    public int Vec;
    public float S;
}

/// <summary>Eight fp32 values of one row (8 adjacent columns), kept in registers.</summary>
internal struct F8
{
    public float V0, V1, V2, V3, V4, V5, V6, V7;
}

/// <summary>16 bytes: eight 16-bit or four 32-bit elements, so the PTX backend can move them as one vector word.</summary>
internal struct Vec16B
{
    public uint X, Y, Z, W;
}

internal static class LowRankMergeKernels
{
    public const int Threads = 256, TileRows = 32, TileCols = 256, RankChunk = 16;

    /// <summary>Grid: (ceil(I / 256), ceil(O / 32)) blocks of 256 threads.</summary>
    public static void MaskedLowRankMerge(ArrayView<byte> w, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, LowRankMergeArgs g)
    {
        // sb holds B[k0 + kk, col0 + 8 l + j] at kk * 256 + j * 32 + l, so lane l reading its column j hits bank l: no conflicts.
        var sb = SharedMemory.Allocate<float>(RankChunk * TileCols);
        var sa = SharedMemory.Allocate<float>(TileRows * RankChunk);
        int t = Group.IdxX, lane = t & 31, ty = t >> 5;
        int col0 = Grid.IdxX * TileCols, row0 = Grid.IdxY * TileRows;
        F8 acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int k0 = 0; k0 < g.R; k0 += RankChunk)
        {
            int kn = g.R - k0 < RankChunk ? g.R - k0 : RankChunk;
            Group.Barrier();
            for (int kk = 0; kk < RankChunk; kk++)
            {
                int col = col0 + t;
                float v = kk < kn && col < g.I ? Elem.Ld(b, g.TB, (long)(k0 + kk) * g.I + col) : 0f;
                sb[kk * TileCols + (t & 7) * 32 + (t >> 3)] = v;
            }
            for (int e = t; e < TileRows * RankChunk; e += Threads)
            {
                int rr = e / RankChunk, kk = e % RankChunk, row = row0 + rr;
                sa[e] = kk < kn && row < g.O ? Elem.Ld(a, g.TA, (long)row * g.R + k0 + kk) : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < kn; kk++)
            {
                int sbo = kk * TileCols + lane;
                F8 bv;
                bv.V0 = sb[sbo]; bv.V1 = sb[sbo + 32]; bv.V2 = sb[sbo + 64]; bv.V3 = sb[sbo + 96];
                bv.V4 = sb[sbo + 128]; bv.V5 = sb[sbo + 160]; bv.V6 = sb[sbo + 192]; bv.V7 = sb[sbo + 224];
                acc0 = Fma(sa[ty * RankChunk + kk], bv, acc0);
                acc1 = Fma(sa[(ty + 8) * RankChunk + kk], bv, acc1);
                acc2 = Fma(sa[(ty + 16) * RankChunk + kk], bv, acc2);
                acc3 = Fma(sa[(ty + 24) * RankChunk + kk], bv, acc3);
            }
        }
        int c = col0 + lane * 8;
        StoreRow(w, y, g, row0 + ty, c, acc0);
        StoreRow(w, y, g, row0 + ty + 8, c, acc1);
        StoreRow(w, y, g, row0 + ty + 16, c, acc2);
        StoreRow(w, y, g, row0 + ty + 24, c, acc3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static F8 Fma(float x, F8 b, F8 c)
    {
        F8 r;
        r.V0 = x * b.V0 + c.V0; r.V1 = x * b.V1 + c.V1; r.V2 = x * b.V2 + c.V2; r.V3 = x * b.V3 + c.V3;
        r.V4 = x * b.V4 + c.V4; r.V5 = x * b.V5 + c.V5; r.V6 = x * b.V6 + c.V6; r.V7 = x * b.V7 + c.V7;
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Merge(float w, float d, float s) => w != 0f ? w + s * d : w;

    /// <summary>Columns c .. c + 7 of row o; the vector path moves them as 16-byte words, the edge path one by one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(ArrayView<byte> w, ArrayView<byte> y, LowRankMergeArgs g, int o, int c, F8 d)
    {
        if (o >= g.O || c >= g.I) return;
        long e = (long)o * g.I + c;
        if (g.Vec != 0)
        {
            if (g.TW == Elem.F32)
            {
                var wv = w.Cast<Vec16B>();
                var yv = y.Cast<Vec16B>();
                Vec16B p = wv[e / 4], q = wv[e / 4 + 1], rp, rq;
                rp.X = Bits(Merge(Interop.IntAsFloat(p.X), d.V0, g.S));
                rp.Y = Bits(Merge(Interop.IntAsFloat(p.Y), d.V1, g.S));
                rp.Z = Bits(Merge(Interop.IntAsFloat(p.Z), d.V2, g.S));
                rp.W = Bits(Merge(Interop.IntAsFloat(p.W), d.V3, g.S));
                rq.X = Bits(Merge(Interop.IntAsFloat(q.X), d.V4, g.S));
                rq.Y = Bits(Merge(Interop.IntAsFloat(q.Y), d.V5, g.S));
                rq.Z = Bits(Merge(Interop.IntAsFloat(q.Z), d.V6, g.S));
                rq.W = Bits(Merge(Interop.IntAsFloat(q.W), d.V7, g.S));
                yv[e / 4] = rp;
                yv[e / 4 + 1] = rq;
            }
            else
            {
                var wv = w.Cast<Vec16B>();
                Vec16B p = wv[e / 8], r;
                r.X = Pair(p.X, d.V0, d.V1, g);
                r.Y = Pair(p.Y, d.V2, d.V3, g);
                r.Z = Pair(p.Z, d.V4, d.V5, g);
                r.W = Pair(p.W, d.V6, d.V7, g);
                y.Cast<Vec16B>()[e / 8] = r;
            }
            return;
        }
        StoreOne(w, y, g, e, c, 0, d.V0);
        StoreOne(w, y, g, e, c, 1, d.V1);
        StoreOne(w, y, g, e, c, 2, d.V2);
        StoreOne(w, y, g, e, c, 3, d.V3);
        StoreOne(w, y, g, e, c, 4, d.V4);
        StoreOne(w, y, g, e, c, 5, d.V5);
        StoreOne(w, y, g, e, c, 6, d.V6);
        StoreOne(w, y, g, e, c, 7, d.V7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreOne(ArrayView<byte> w, ArrayView<byte> y, LowRankMergeArgs g, long e, int c, int j, float d)
    {
        if (c + j < g.I) Elem.St(y, g.TW, e + j, Merge(Elem.Ld(w, g.TW, e + j), d, g.S));
    }

    private static uint Bits(float x) => Interop.FloatAsInt(x);

    /// <summary>Two 16-bit elements packed low-first in one word (little-endian), merged and packed back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Pair(uint p, float d0, float d1, LowRankMergeArgs g)
    {
        ushort lo = (ushort)(p & 0xFFFFu), hi = (ushort)(p >> 16);
        bool bf = g.TW == Elem.BF16;
        float w0 = bf ? Elem.Bf16ToFloat(lo) : Elem.F16ToFloat(lo), w1 = bf ? Elem.Bf16ToFloat(hi) : Elem.F16ToFloat(hi);
        // A zero weight keeps its exact bits (including -0), as on the CPU.
        uint r0 = w0 != 0f ? (bf ? Elem.FloatToBf16(w0 + g.S * d0) : Elem.FloatToF16(w0 + g.S * d0)) : lo;
        uint r1 = w1 != 0f ? (bf ? Elem.FloatToBf16(w1 + g.S * d1) : Elem.FloatToF16(w1 + g.S * d1)) : hi;
        return r0 | (r1 << 16);
    }
}
