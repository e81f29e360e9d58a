// Tiled (FlashAttention-2 style) causal GQA attention on CUDA, fp32 SIMT math on F32/BF16/F16 storage.
// Every block has 256 threads (16 x 16: tx = tid & 15, ty = tid >> 4) and one 48 KiB shared buffer; it owns a tile of
// 64 "rows" (queries for the forward and dQ, keys for dK/dV) and walks tiles of 32 "columns" (keys, resp. queries).
// Thread (ty, tx) owns rows ty*4 + i (i < 4) and, in a score tile, columns tx + 16 kk (kk < 2); in an accumulator
// [64, D] it owns d = tx + 16 c (c < 8, so D <= 128). Score tiles are dot products over D staged through shared
// memory in chunks of 32 dims; accumulators are W [64, 32] (shared) times M [32, D] (shared) into registers.
// Backward: dQ by one block per (b, q-head, query tile); dK/dV per (b, q-head, key tile) into an F32 scratch that a
// small kernel sums over the heads of each group in a fixed order (deterministic, no atomics).
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

/// <summary>Four rows by eight d-slots of accumulators (thread-private registers).</summary>
internal struct AttnAcc
{
    public float a00, a01, a02, a03, a04, a05, a06, a07;
    public float a10, a11, a12, a13, a14, a15, a16, a17;
    public float a20, a21, a22, a23, a24, a25, a26, a27;
    public float a30, a31, a32, a33, a34, a35, a36, a37;
}

/// <summary>Four rows by two columns of a score tile.</summary>
internal struct AttnS8
{
    public float s00, s01, s10, s11, s20, s21, s30, s31;
}

internal struct AttnS16
{
    public AttnS8 X, Y;
}

internal static class AttentionTiledKernels
{
    public const int Threads = 256;
    public const int RowTile = 64;
    public const int ColTile = 32;
    public const int SharedFloats = 12288; // 48 KiB
    private const int CS = 33;             // padded stride of the chunk buffers
    // chunk buffers (dot phase): A1 [64][33], B1 [32][33], A2 [64][33], B2 [32][33]
    private const int OffA1 = 0, OffB1 = 64 * CS, OffA2 = 96 * CS, OffB2 = 160 * CS;

    /// <summary>D rounded up to 16 (the stride of the M tiles).</summary>
    public static int PadD(int d) => (d + 15) & ~15;

    /// <summary>Stride of the W tiles [64][ws]: 33 (conflict-free) unless two of them would not fit next to two M tiles.</summary>
    public static int WStride(int dp) => 64 * dp + 2 * 64 * 33 <= SharedFloats ? 33 : 32;

    private static float LdRow(ArrayView<byte> x, int dt, long b, int row, int rows, int d, int dim) =>
        row < rows && d < dim ? Elem.Ld(x, dt, b + (long)row * dim + d) : 0f;

    /// <summary>Loads rows [r0, r0 + 64) x dims [dc, dc + 32) of x (rows valid below nRows) into sh at off, stride 33.</summary>
    private static void LoadChunk64(ArrayView<float> sh, int off, ArrayView<byte> x, int dt, long b, int r0, int nRows, int dc, int dim, int tid)
    {
        for (int i = 0; i < 8; i++)
        {
            int e = tid + Threads * i, r = e >> 5, dd = e & 31;
            sh[off + r * CS + dd] = LdRow(x, dt, b, r0 + r, nRows, dc + dd, dim);
        }
    }

    private static void LoadChunk32(ArrayView<float> sh, int off, ArrayView<byte> x, int dt, long b, int r0, int nRows, int dc, int dim, int tid)
    {
        for (int i = 0; i < 4; i++)
        {
            int e = tid + Threads * i, r = e >> 5, dd = e & 31;
            sh[off + r * CS + dd] = LdRow(x, dt, b, r0 + r, nRows, dc + dd, dim);
        }
    }

    /// <summary>Loads rows [r0, r0 + 32) of x into sh at off as [32][dp] (zero beyond nRows and dim).</summary>
    private static void LoadM(ArrayView<float> sh, int off, ArrayView<byte> x, int dt, long b, int r0, int nRows, int dim, int dp, int tid)
    {
        int n = 32 * dp;
        for (int e = tid; e < n; e += Threads)
        {
            int r = e / dp, d = e - r * dp;
            sh[off + e] = LdRow(x, dt, b, r0 + r, nRows, d, dim);
        }
    }

    private static AttnS8 DotChunk(AttnS8 s, ArrayView<float> sh, int offA, int offB, int n, int ty, int tx)
    {
        int a0 = offA + ty * 4 * CS, b0 = offB + tx * CS, b1 = offB + (tx + 16) * CS;
        for (int dd = 0; dd < n; dd++)
        {
            float x0 = sh[a0 + dd], x1 = sh[a0 + CS + dd], x2 = sh[a0 + 2 * CS + dd], x3 = sh[a0 + 3 * CS + dd];
            float y0 = sh[b0 + dd], y1 = sh[b1 + dd];
            s.s00 += x0 * y0; s.s01 += x0 * y1;
            s.s10 += x1 * y0; s.s11 += x1 * y1;
            s.s20 += x2 * y0; s.s21 += x2 * y1;
            s.s30 += x3 * y0; s.s31 += x3 * y1;
        }
        return s;
    }

    /// <summary>Score tile a[ar0..+64] . b[br0..+32]^T over all D. Starts and ends with a barrier-free shared buffer.</summary>
    private static AttnS8 Dot(ArrayView<float> sh, ArrayView<byte> a, long ab, int ar0, int aRows, ArrayView<byte> b, long bb, int br0, int bRows, int dt, int dim, int tid, int ty, int tx)
    {
        var s = default(AttnS8);
        for (int dc = 0; dc < dim; dc += 32)
        {
            LoadChunk64(sh, OffA1, a, dt, ab, ar0, aRows, dc, dim, tid);
            LoadChunk32(sh, OffB1, b, dt, bb, br0, bRows, dc, dim, tid);
            Group.Barrier();
            int n = dim - dc < 32 ? dim - dc : 32;
            s = DotChunk(s, sh, OffA1, OffB1, n, ty, tx);
            Group.Barrier();
        }
        return s;
    }

    /// <summary>Two score tiles at once: X = a1 . b1^T, Y = a2 . b2^T (same row and column ranges).</summary>
    private static AttnS16 Dot2(ArrayView<float> sh,
        ArrayView<byte> a1, ArrayView<byte> a2, long ab, int ar0, int aRows,
        ArrayView<byte> b1, ArrayView<byte> b2, long bb, int br0, int bRows, int dt, int dim, int tid, int ty, int tx)
    {
        var x = default(AttnS8);
        var y = default(AttnS8);
        for (int dc = 0; dc < dim; dc += 32)
        {
            LoadChunk64(sh, OffA1, a1, dt, ab, ar0, aRows, dc, dim, tid);
            LoadChunk32(sh, OffB1, b1, dt, bb, br0, bRows, dc, dim, tid);
            LoadChunk64(sh, OffA2, a2, dt, ab, ar0, aRows, dc, dim, tid);
            LoadChunk32(sh, OffB2, b2, dt, bb, br0, bRows, dc, dim, tid);
            Group.Barrier();
            int n = dim - dc < 32 ? dim - dc : 32;
            x = DotChunk(x, sh, OffA1, OffB1, n, ty, tx);
            y = DotChunk(y, sh, OffA2, OffB2, n, ty, tx);
            Group.Barrier();
        }
        return new AttnS16 { X = x, Y = y };
    }

    /// <summary>o += W[rows of this thread][0..32) . M[0..32)[d slots of this thread]; W at wOff stride ws, M at mOff stride dp.</summary>
    private static AttnAcc Accum(AttnAcc o, ArrayView<float> sh, int wOff, int ws, int mOff, int dp, int ty, int tx)
    {
        // one straight-line loop per slot count (uniform over the block), so the inner loop has no branches
        int w0 = wOff + ty * 4 * ws, m0 = mOff + tx;
        if (dp <= 32)
        {
            for (int j = 0; j < 32; j++)
            {
                float p0 = sh[w0 + j], p1 = sh[w0 + ws + j], p2 = sh[w0 + 2 * ws + j], p3 = sh[w0 + 3 * ws + j];
                int m = m0 + j * dp;
                float v0 = sh[m], v1 = sh[m + 16];
                o.a00 += p0 * v0; o.a01 += p0 * v1;
                o.a10 += p1 * v0; o.a11 += p1 * v1;
                o.a20 += p2 * v0; o.a21 += p2 * v1;
                o.a30 += p3 * v0; o.a31 += p3 * v1;
            }
        }
        else if (dp <= 64)
        {
            for (int j = 0; j < 32; j++)
            {
                float p0 = sh[w0 + j], p1 = sh[w0 + ws + j], p2 = sh[w0 + 2 * ws + j], p3 = sh[w0 + 3 * ws + j];
                int m = m0 + j * dp;
                float v0 = sh[m], v1 = sh[m + 16], v2 = sh[m + 32], v3 = sh[m + 48];
                o.a00 += p0 * v0; o.a01 += p0 * v1; o.a02 += p0 * v2; o.a03 += p0 * v3;
                o.a10 += p1 * v0; o.a11 += p1 * v1; o.a12 += p1 * v2; o.a13 += p1 * v3;
                o.a20 += p2 * v0; o.a21 += p2 * v1; o.a22 += p2 * v2; o.a23 += p2 * v3;
                o.a30 += p3 * v0; o.a31 += p3 * v1; o.a32 += p3 * v2; o.a33 += p3 * v3;
            }
        }
        else
        {
            for (int j = 0; j < 32; j++)
            {
                float p0 = sh[w0 + j], p1 = sh[w0 + ws + j], p2 = sh[w0 + 2 * ws + j], p3 = sh[w0 + 3 * ws + j];
                int m = m0 + j * dp;
                float v0 = sh[m], v1 = sh[m + 16], v2 = sh[m + 32], v3 = sh[m + 48];
                float v4 = sh[m + 64], v5 = sh[m + 80], v6 = sh[m + 96], v7 = sh[m + 112];
                o.a00 += p0 * v0; o.a01 += p0 * v1; o.a02 += p0 * v2; o.a03 += p0 * v3;
                o.a04 += p0 * v4; o.a05 += p0 * v5; o.a06 += p0 * v6; o.a07 += p0 * v7;
                o.a10 += p1 * v0; o.a11 += p1 * v1; o.a12 += p1 * v2; o.a13 += p1 * v3;
                o.a14 += p1 * v4; o.a15 += p1 * v5; o.a16 += p1 * v6; o.a17 += p1 * v7;
                o.a20 += p2 * v0; o.a21 += p2 * v1; o.a22 += p2 * v2; o.a23 += p2 * v3;
                o.a24 += p2 * v4; o.a25 += p2 * v5; o.a26 += p2 * v6; o.a27 += p2 * v7;
                o.a30 += p3 * v0; o.a31 += p3 * v1; o.a32 += p3 * v2; o.a33 += p3 * v3;
                o.a34 += p3 * v4; o.a35 += p3 * v5; o.a36 += p3 * v6; o.a37 += p3 * v7;
            }
        }
        return o;
    }

    private static AttnAcc ScaleRows(AttnAcc o, float c0, float c1, float c2, float c3)
    {
        o.a00 *= c0; o.a01 *= c0; o.a02 *= c0; o.a03 *= c0; o.a04 *= c0; o.a05 *= c0; o.a06 *= c0; o.a07 *= c0;
        o.a10 *= c1; o.a11 *= c1; o.a12 *= c1; o.a13 *= c1; o.a14 *= c1; o.a15 *= c1; o.a16 *= c1; o.a17 *= c1;
        o.a20 *= c2; o.a21 *= c2; o.a22 *= c2; o.a23 *= c2; o.a24 *= c2; o.a25 *= c2; o.a26 *= c2; o.a27 *= c2;
        o.a30 *= c3; o.a31 *= c3; o.a32 *= c3; o.a33 *= c3; o.a34 *= c3; o.a35 *= c3; o.a36 *= c3; o.a37 *= c3;
        return o;
    }

    private static void PutRow(ArrayView<byte> y, int dt, long rb, int tx, int dim, float scale,
        float x0, float x1, float x2, float x3, float x4, float x5, float x6, float x7)
    {
        if (tx < dim) Elem.St(y, dt, rb + tx, x0 * scale);
        if (tx + 16 < dim) Elem.St(y, dt, rb + tx + 16, x1 * scale);
        if (tx + 32 < dim) Elem.St(y, dt, rb + tx + 32, x2 * scale);
        if (tx + 48 < dim) Elem.St(y, dt, rb + tx + 48, x3 * scale);
        if (tx + 64 < dim) Elem.St(y, dt, rb + tx + 64, x4 * scale);
        if (tx + 80 < dim) Elem.St(y, dt, rb + tx + 80, x5 * scale);
        if (tx + 96 < dim) Elem.St(y, dt, rb + tx + 96, x6 * scale);
        if (tx + 112 < dim) Elem.St(y, dt, rb + tx + 112, x7 * scale);
    }

    /// <summary>Writes rows r0 + ty*4 + i (valid below nRows) of a [rows, dim] matrix at base b, times scale (or per-row scales).</summary>
    private static void PutAcc(ArrayView<byte> y, int dt, long b, int r0, int nRows, int dim, AttnAcc o, float c0, float c1, float c2, float c3, int ty, int tx)
    {
        int r = r0 + ty * 4;
        if (r < nRows) PutRow(y, dt, b + (long)r * dim, tx, dim, c0, o.a00, o.a01, o.a02, o.a03, o.a04, o.a05, o.a06, o.a07);
        if (r + 1 < nRows) PutRow(y, dt, b + (long)(r + 1) * dim, tx, dim, c1, o.a10, o.a11, o.a12, o.a13, o.a14, o.a15, o.a16, o.a17);
        if (r + 2 < nRows) PutRow(y, dt, b + (long)(r + 2) * dim, tx, dim, c2, o.a20, o.a21, o.a22, o.a23, o.a24, o.a25, o.a26, o.a27);
        if (r + 3 < nRows) PutRow(y, dt, b + (long)(r + 3) * dim, tx, dim, c3, o.a30, o.a31, o.a32, o.a33, o.a34, o.a35, o.a36, o.a37);
    }

    private static float Max16(float v)
    {
        v = Elem.Max(v, Warp.ShuffleXor(v, 8));
        v = Elem.Max(v, Warp.ShuffleXor(v, 4));
        v = Elem.Max(v, Warp.ShuffleXor(v, 2));
        return Elem.Max(v, Warp.ShuffleXor(v, 1));
    }

    private static float Sum16(float v)
    {
        v += Warp.ShuffleXor(v, 8);
        v += Warp.ShuffleXor(v, 4);
        v += Warp.ShuffleXor(v, 2);
        return v + Warp.ShuffleXor(v, 1);
    }

    /// <summary>Score (already scaled) of query t against key j, or -inf where masked.</summary>
    private static float Mask(float s, int t, int j, int off, int nT, int nS) => t < nT && j < nS && j <= off + t ? s : float.NegativeInfinity;

    private static float SafeExp(float x) => x == float.NegativeInfinity ? 0f : XMath.Exp(x);

    /// <summary>Forward: one block per (b, q-head, tile of 64 queries), heaviest (last) query tiles first.</summary>
    public static void Forward(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> o, ArrayView<float> lse, AttnArgs a)
    {
        var sh = SharedMemory.Allocate<float>(SharedFloats);
        int tid = Group.IdxX, tx = tid & 15, ty = tid >> 4;
        int dt = a.DType, dim = a.D, dp = PadD(dim), ws = WStride(dp);
        int nbh = a.B * a.Hq, nqt = (a.T + RowTile - 1) / RowTile;
        int bh = Grid.IdxX % nbh, qt = nqt - 1 - Grid.IdxX / nbh;
        int h = bh % a.Hq, b = bh / a.Hq, hk = h / (a.Hq / a.Hkv);
        long qb = (long)bh * a.T * dim, kb = ((long)b * a.Hkv + hk) * a.S * dim;
        int off = a.S - a.T, t0 = qt * RowTile, tr = t0 + ty * 4;
        int lastRow = t0 + RowTile - 1 < a.T - 1 ? t0 + RowTile - 1 : a.T - 1;
        int kEnd = off + lastRow + 1;
        int wOff = 2 * 32 * dp, mOff = 0;
        float sc = a.Scale;
        float m0 = float.NegativeInfinity, m1 = float.NegativeInfinity, m2 = float.NegativeInfinity, m3 = float.NegativeInfinity;
        float l0 = 0f, l1 = 0f, l2 = 0f, l3 = 0f;
        var acc = default(AttnAcc);
        for (int j0 = 0; j0 < kEnd; j0 += ColTile)
        {
            var s = Dot(sh, q, qb, t0, a.T, k, kb, j0, a.S, dt, dim, tid, ty, tx);
            int ja = j0 + tx, jb = ja + 16;
            float s00 = Mask(s.s00 * sc, tr, ja, off, a.T, a.S), s01 = Mask(s.s01 * sc, tr, jb, off, a.T, a.S);
            float s10 = Mask(s.s10 * sc, tr + 1, ja, off, a.T, a.S), s11 = Mask(s.s11 * sc, tr + 1, jb, off, a.T, a.S);
            float s20 = Mask(s.s20 * sc, tr + 2, ja, off, a.T, a.S), s21 = Mask(s.s21 * sc, tr + 2, jb, off, a.T, a.S);
            float s30 = Mask(s.s30 * sc, tr + 3, ja, off, a.T, a.S), s31 = Mask(s.s31 * sc, tr + 3, jb, off, a.T, a.S);
            float n0 = Elem.Max(m0, Max16(Elem.Max(s00, s01)));
            float n1 = Elem.Max(m1, Max16(Elem.Max(s10, s11)));
            float n2 = Elem.Max(m2, Max16(Elem.Max(s20, s21)));
            float n3 = Elem.Max(m3, Max16(Elem.Max(s30, s31)));
            // Rows past T (or with nothing visible yet) stay at -inf: their probabilities are 0 and their outputs unused.
            float z0 = n0 == float.NegativeInfinity ? 0f : n0, z1 = n1 == float.NegativeInfinity ? 0f : n1;
            float z2 = n2 == float.NegativeInfinity ? 0f : n2, z3 = n3 == float.NegativeInfinity ? 0f : n3;
            float c0 = SafeExp(m0 - z0), c1 = SafeExp(m1 - z1), c2 = SafeExp(m2 - z2), c3 = SafeExp(m3 - z3);
            float p00 = SafeExp(s00 - z0), p01 = SafeExp(s01 - z0), p10 = SafeExp(s10 - z1), p11 = SafeExp(s11 - z1);
            float p20 = SafeExp(s20 - z2), p21 = SafeExp(s21 - z2), p30 = SafeExp(s30 - z3), p31 = SafeExp(s31 - z3);
            l0 = l0 * c0 + Sum16(p00 + p01);
            l1 = l1 * c1 + Sum16(p10 + p11);
            l2 = l2 * c2 + Sum16(p20 + p21);
            l3 = l3 * c3 + Sum16(p30 + p31);
            m0 = n0; m1 = n1; m2 = n2; m3 = n3;
            acc = ScaleRows(acc, c0, c1, c2, c3);
            int w = wOff + ty * 4 * ws + tx;
            sh[w] = p00; sh[w + 16] = p01;
            sh[w + ws] = p10; sh[w + ws + 16] = p11;
            sh[w + 2 * ws] = p20; sh[w + 2 * ws + 16] = p21;
            sh[w + 3 * ws] = p30; sh[w + 3 * ws + 16] = p31;
            LoadM(sh, mOff, v, dt, kb, j0, a.S, dim, dp, tid);
            Group.Barrier();
            acc = Accum(acc, sh, wOff, ws, mOff, dp, ty, tx);
            Group.Barrier();
        }
        PutAcc(o, dt, qb, t0, a.T, dim, acc, 1f / l0, 1f / l1, 1f / l2, 1f / l3, ty, tx);
        if (tx == 0)
        {
            long lb = (long)bh * a.T;
            if (tr < a.T) lse[lb + tr] = m0 + XMath.Log(l0);
            if (tr + 1 < a.T) lse[lb + tr + 1] = m1 + XMath.Log(l1);
            if (tr + 2 < a.T) lse[lb + tr + 2] = m2 + XMath.Log(l2);
            if (tr + 3 < a.T) lse[lb + tr + 3] = m3 + XMath.Log(l3);
        }
    }

    private static float Lse(ArrayView<float> x, long b, int t, int n) => t < n ? x[b + t] : 0f;

    /// <summary>dQ: one block per (b, q-head, tile of 64 queries); dq = scale * sum_j P (dP - delta) k_j.</summary>
    public static void BackwardQ(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> go, ArrayView<float> lse, ArrayView<float> delta, ArrayView<byte> gq, AttnArgs a)
    {
        var sh = SharedMemory.Allocate<float>(SharedFloats);
        int tid = Group.IdxX, tx = tid & 15, ty = tid >> 4;
        int dt = a.DType, dim = a.D, dp = PadD(dim), ws = WStride(dp);
        int nbh = a.B * a.Hq, nqt = (a.T + RowTile - 1) / RowTile;
        int bh = Grid.IdxX % nbh, qt = nqt - 1 - Grid.IdxX / nbh;
        int h = bh % a.Hq, b = bh / a.Hq, hk = h / (a.Hq / a.Hkv);
        long qb = (long)bh * a.T * dim, kb = ((long)b * a.Hkv + hk) * a.S * dim, lb = (long)bh * a.T;
        int off = a.S - a.T, t0 = qt * RowTile, tr = t0 + ty * 4;
        int lastRow = t0 + RowTile - 1 < a.T - 1 ? t0 + RowTile - 1 : a.T - 1;
        int kEnd = off + lastRow + 1;
        int wOff = 2 * 32 * dp, mOff = 0;
        float sc = a.Scale;
        float L0 = Lse(lse, lb, tr, a.T), L1 = Lse(lse, lb, tr + 1, a.T), L2 = Lse(lse, lb, tr + 2, a.T), L3 = Lse(lse, lb, tr + 3, a.T);
        float D0 = Lse(delta, lb, tr, a.T), D1 = Lse(delta, lb, tr + 1, a.T), D2 = Lse(delta, lb, tr + 2, a.T), D3 = Lse(delta, lb, tr + 3, a.T);
        var acc = default(AttnAcc);
        for (int j0 = 0; j0 < kEnd; j0 += ColTile)
        {
            var sp = Dot2(sh, q, go, qb, t0, a.T, k, v, kb, j0, a.S, dt, dim, tid, ty, tx);
            var s = sp.X; var g = sp.Y;
            int ja = j0 + tx, jb = ja + 16;
            float d00 = SafeExp(Mask(s.s00 * sc, tr, ja, off, a.T, a.S) - L0) * (g.s00 - D0);
            float d01 = SafeExp(Mask(s.s01 * sc, tr, jb, off, a.T, a.S) - L0) * (g.s01 - D0);
            float d10 = SafeExp(Mask(s.s10 * sc, tr + 1, ja, off, a.T, a.S) - L1) * (g.s10 - D1);
            float d11 = SafeExp(Mask(s.s11 * sc, tr + 1, jb, off, a.T, a.S) - L1) * (g.s11 - D1);
            float d20 = SafeExp(Mask(s.s20 * sc, tr + 2, ja, off, a.T, a.S) - L2) * (g.s20 - D2);
            float d21 = SafeExp(Mask(s.s21 * sc, tr + 2, jb, off, a.T, a.S) - L2) * (g.s21 - D2);
            float d30 = SafeExp(Mask(s.s30 * sc, tr + 3, ja, off, a.T, a.S) - L3) * (g.s30 - D3);
            float d31 = SafeExp(Mask(s.s31 * sc, tr + 3, jb, off, a.T, a.S) - L3) * (g.s31 - D3);
            int w = wOff + ty * 4 * ws + tx;
            sh[w] = d00; sh[w + 16] = d01;
            sh[w + ws] = d10; sh[w + ws + 16] = d11;
            sh[w + 2 * ws] = d20; sh[w + 2 * ws + 16] = d21;
            sh[w + 3 * ws] = d30; sh[w + 3 * ws + 16] = d31;
            LoadM(sh, mOff, k, dt, kb, j0, a.S, dim, dp, tid);
            Group.Barrier();
            acc = Accum(acc, sh, wOff, ws, mOff, dp, ty, tx);
            Group.Barrier();
        }
        PutAcc(gq, dt, qb, t0, a.T, dim, acc, sc, sc, sc, sc, ty, tx);
    }

    /// <summary>
    /// Partial dK, dV of one query head: one block per (b, q-head, tile of 64 keys), lowest (heaviest) key tiles first;
    /// gkp/gvp are F32 [B, Hq, S, D] (gkp already times scale), summed over each group by <see cref="ReduceKV"/>.
    /// </summary>
    public static void BackwardKV(ArrayView<byte> q, ArrayView<byte> k, ArrayView<byte> v, ArrayView<byte> go, ArrayView<float> lse, ArrayView<float> delta, ArrayView<byte> gkp, ArrayView<byte> gvp, AttnArgs a)
    {
        var sh = SharedMemory.Allocate<float>(SharedFloats);
        int tid = Group.IdxX, tx = tid & 15, ty = tid >> 4;
        int dt = a.DType, dim = a.D, dp = PadD(dim), ws = WStride(dp);
        int nbh = a.B * a.Hq;
        int bh = Grid.IdxX % nbh, kt = Grid.IdxX / nbh;
        int h = bh % a.Hq, b = bh / a.Hq, hk = h / (a.Hq / a.Hkv);
        long qb = (long)bh * a.T * dim, kb = ((long)b * a.Hkv + hk) * a.S * dim, lb = (long)bh * a.T;
        int off = a.S - a.T, j0 = kt * RowTile, jr = j0 + ty * 4;
        int tmin = j0 - off < 0 ? 0 : j0 - off;
        int w1 = 2 * 32 * dp, w2 = w1 + 64 * ws, m1 = 0, m2 = 32 * dp;
        float sc = a.Scale;
        var dk = default(AttnAcc);
        var dv = default(AttnAcc);
        for (int q0 = tmin / ColTile * ColTile; q0 < a.T; q0 += ColTile)
        {
            var sp = Dot2(sh, k, v, kb, j0, a.S, q, go, qb, q0, a.T, dt, dim, tid, ty, tx);
            var s = sp.X; var g = sp.Y;
            int ta = q0 + tx, tb = ta + 16;
            float La = Lse(lse, lb, ta, a.T), Lb = Lse(lse, lb, tb, a.T), Da = Lse(delta, lb, ta, a.T), Db = Lse(delta, lb, tb, a.T);
            float p00 = SafeExp(Mask(s.s00 * sc, ta, jr, off, a.T, a.S) - La), p01 = SafeExp(Mask(s.s01 * sc, tb, jr, off, a.T, a.S) - Lb);
            float p10 = SafeExp(Mask(s.s10 * sc, ta, jr + 1, off, a.T, a.S) - La), p11 = SafeExp(Mask(s.s11 * sc, tb, jr + 1, off, a.T, a.S) - Lb);
            float p20 = SafeExp(Mask(s.s20 * sc, ta, jr + 2, off, a.T, a.S) - La), p21 = SafeExp(Mask(s.s21 * sc, tb, jr + 2, off, a.T, a.S) - Lb);
            float p30 = SafeExp(Mask(s.s30 * sc, ta, jr + 3, off, a.T, a.S) - La), p31 = SafeExp(Mask(s.s31 * sc, tb, jr + 3, off, a.T, a.S) - Lb);
            int w = ty * 4 * ws + tx;
            sh[w1 + w] = p00; sh[w1 + w + 16] = p01;
            sh[w1 + w + ws] = p10; sh[w1 + w + ws + 16] = p11;
            sh[w1 + w + 2 * ws] = p20; sh[w1 + w + 2 * ws + 16] = p21;
            sh[w1 + w + 3 * ws] = p30; sh[w1 + w + 3 * ws + 16] = p31;
            sh[w2 + w] = p00 * (g.s00 - Da); sh[w2 + w + 16] = p01 * (g.s01 - Db);
            sh[w2 + w + ws] = p10 * (g.s10 - Da); sh[w2 + w + ws + 16] = p11 * (g.s11 - Db);
            sh[w2 + w + 2 * ws] = p20 * (g.s20 - Da); sh[w2 + w + 2 * ws + 16] = p21 * (g.s21 - Db);
            sh[w2 + w + 3 * ws] = p30 * (g.s30 - Da); sh[w2 + w + 3 * ws + 16] = p31 * (g.s31 - Db);
            LoadM(sh, m1, go, dt, qb, q0, a.T, dim, dp, tid);
            LoadM(sh, m2, q, dt, qb, q0, a.T, dim, dp, tid);
            Group.Barrier();
            dv = Accum(dv, sh, w1, ws, m1, dp, ty, tx);
            dk = Accum(dk, sh, w2, ws, m2, dp, ty, tx);
            Group.Barrier();
        }
        long pb = (long)bh * a.S * dim;
        PutAcc(gkp, Elem.F32, pb, j0, a.S, dim, dk, sc, sc, sc, sc, ty, tx);
        PutAcc(gvp, Elem.F32, pb, j0, a.S, dim, dv, 1f, 1f, 1f, 1f, ty, tx);
    }

    /// <summary>gk[b, hk, j, d] = sum over the group's heads of gkp[b, h, j, d] (fixed order), likewise gv; one thread per element.</summary>
    public static void ReduceKV(Index1D i, ArrayView<float> gkp, ArrayView<float> gvp, ArrayView<byte> gk, ArrayView<byte> gv, AttnArgs a)
    {
        long sd = (long)a.S * a.D;
        long e = i, inner = e % sd, bhk = e / sd;
        int group = a.Hq / a.Hkv;
        long src = bhk * group * sd + inner; // head hk*group of batch b: ((b*Hkv + hk)*group) == b*Hq + hk*group
        float sk = 0f, sv = 0f;
        for (int g = 0; g < group; g++)
        {
            sk += gkp[src + g * sd];
            sv += gvp[src + g * sd];
        }
        Elem.St(gk, a.DType, e, sk);
        Elem.St(gv, a.DType, e, sv);
    }
}
