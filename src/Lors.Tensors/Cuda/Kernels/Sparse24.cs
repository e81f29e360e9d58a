// Compressed 2:4 weights on CUDA (layout in Sparse/Sparse24Weight.cs): one thread per metadata byte, i.e. per 8 columns
// (two groups of four) of one row of W [O, I], so each byte of meta U8 [O, I/8] has a single writer. Kept values
// [O, I/2] move as raw bits; the merge reads its A row and B columns from global memory (r is small, B is L2-resident).
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

internal struct Sparse24Args
{
    public int O, I, R, TV, TA, TB, Es;
    /// <summary>1: the merge writes dense [O, I]; 0: kept values [O, I/2].</summary>
    public int Dense;
    public float S;
}

internal static class Sparse24Kernels
{
    /// <summary>Index: O * I/8. bad[0] = min over groups with more than two non-zeros of o * (I/4) + g.</summary>
    public static void Compress(Index1D idx, ArrayView<byte> w, ArrayView<byte> values, ArrayView<byte> meta, ArrayView<int> bad, Sparse24Args g)
    {
        int perRow = g.I / 8;
        long row = idx / perRow;
        int q = idx % perRow;
        int code = 0;
        for (int h = 0; h < 2; h++)
        {
            int grp = 2 * q + h;
            long w0 = row * g.I + 4 * grp;
            int kept = 0, p0 = -1, p1 = -1;
            for (int p = 0; p < 4; p++)
                if (Elem.NonZeroBits(Elem.LdBits(w, g.Es, w0 + p), g.TV))
                {
                    if (kept == 0) p0 = p; else if (kept == 1) p1 = p;
                    kept++;
                }
            if (kept > 2)
            {
                Atomic.Min(ref bad[0], (int)(row * (g.I / 4) + grp));
                return;
            }
            // Fill up with the lowest free positions, then order p0 < p1.
            for (int p = 0; p < 4; p++)
            {
                if (p == p0 || p == p1) continue;
                if (p0 < 0) p0 = p;
                else if (p1 < 0) p1 = p;
            }
            if (p0 > p1) { int t = p0; p0 = p1; p1 = t; }
            long v0 = row * (g.I / 2) + 2 * grp;
            Elem.StBits(values, g.Es, v0, Elem.LdBits(w, g.Es, w0 + p0));
            Elem.StBits(values, g.Es, v0 + 1, Elem.LdBits(w, g.Es, w0 + p1));
            code |= (p0 | p1 << 2) << (4 * h);
        }
        meta[idx] = (byte)code;
    }

    /// <summary>Index: O * I/8. y [O, I] gets the kept values at their columns and +0 elsewhere.</summary>
    public static void Decompress(Index1D idx, ArrayView<byte> values, ArrayView<byte> meta, ArrayView<byte> y, Sparse24Args g)
    {
        int perRow = g.I / 8;
        long row = idx / perRow;
        int q = idx % perRow, code = meta[idx];
        for (int h = 0; h < 2; h++)
        {
            int grp = 2 * q + h, nib = code >> (4 * h) & 15, p0 = nib & 3, p1 = nib >> 2 & 3;
            long v0 = row * (g.I / 2) + 2 * grp, y0 = row * g.I + 4 * grp;
            for (int p = 0; p < 4; p++)
                Elem.StBits(y, g.Es, y0 + p, p == p0 ? Elem.LdBits(values, g.Es, v0) : p == p1 ? Elem.LdBits(values, g.Es, v0 + 1) : 0UL);
        }
    }

    /// <summary>
    /// Index: O * I/8. v' = v != 0 ? v + s * sum_k a[o,k] b[k,col] : v (the dense merge kernel's arithmetic), written
    /// as kept values or into the dense row. The four kept values of the thread share one pass over k, so a[o, k] is
    /// read once per k; each accumulator still sums k in order, as the dense kernel does.
    /// </summary>
    public static void Merge(Index1D idx, ArrayView<byte> values, ArrayView<byte> meta, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, Sparse24Args g)
    {
        int perRow = g.I / 8;
        long row = idx / perRow;
        int q = idx % perRow, code = meta[idx];
        int lo = code & 15, hi = code >> 4 & 15;
        int c0 = 8 * q + (lo & 3), c1 = 8 * q + (lo >> 2 & 3), c2 = 8 * q + 4 + (hi & 3), c3 = 8 * q + 4 + (hi >> 2 & 3);
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        for (int k = 0; k < g.R; k++)
        {
            float ak = Elem.Ld(a, g.TA, row * g.R + k);
            long bk = (long)k * g.I;
            s0 = ak * Elem.Ld(b, g.TB, bk + c0) + s0;
            s1 = ak * Elem.Ld(b, g.TB, bk + c1) + s1;
            s2 = ak * Elem.Ld(b, g.TB, bk + c2) + s2;
            s3 = ak * Elem.Ld(b, g.TB, bk + c3) + s3;
        }
        long v0 = row * (g.I / 2) + 4 * q;
        ulong m0 = MergeOne(values, g, v0, s0), m1 = MergeOne(values, g, v0 + 1, s1);
        ulong m2 = MergeOne(values, g, v0 + 2, s2), m3 = MergeOne(values, g, v0 + 3, s3);
        if (g.Dense != 0)
        {
            long y0 = row * g.I + 8 * q;
            for (int p = 0; p < 8; p++)
            {
                int c = 8 * q + p;
                Elem.StBits(y, g.Es, y0 + p, c == c0 ? m0 : c == c1 ? m1 : c == c2 ? m2 : c == c3 ? m3 : 0UL);
            }
        }
        else
        {
            Elem.StBits(y, g.Es, v0, m0);
            Elem.StBits(y, g.Es, v0 + 1, m1);
            Elem.StBits(y, g.Es, v0 + 2, m2);
            Elem.StBits(y, g.Es, v0 + 3, m3);
        }
    }

    /// <summary>The merged bits of kept value v given its rank-r sum d: a zero keeps its exact bits, as in the dense merge.</summary>
    private static ulong MergeOne(ArrayView<byte> values, Sparse24Args g, long v, float d)
    {
        ulong bits = Elem.LdBits(values, g.Es, v);
        if (!Elem.NonZeroBits(bits, g.TV)) return bits;
        float x = Elem.Ld(values, g.TV, v) + g.S * d;
        if (g.TV == Elem.F32) return Interop.FloatAsInt(x);
        return g.TV == Elem.BF16 ? Elem.FloatToBf16(x) : Elem.FloatToF16(x);
    }

    public const int LinearThreads = 128;

    /// <summary>
    /// Grid: O blocks of 128 threads; block o computes y[t, o] for every t < N (g.R holds N). Each thread takes meta
    /// bytes q = tid, tid + 128, ... (4 kept values, 8 columns of x each), then the block sums its partials in shared
    /// memory. TA is x's dtype, TB y's.
    /// </summary>
    public static void Linear(ArrayView<byte> x, ArrayView<byte> values, ArrayView<byte> meta, ArrayView<byte> y, Sparse24Args g)
    {
        var partial = SharedMemory.Allocate<float>(LinearThreads);
        int tid = Group.IdxX, row = Grid.IdxX, perRow = g.I / 8;
        for (int t = 0; t < g.R; t++)
        {
            float acc = 0f;
            long xr = (long)t * g.I;
            for (int q = tid; q < perRow; q += LinearThreads)
            {
                int code = meta[(long)row * perRow + q];
                long v0 = (long)row * (g.I / 2) + 4 * q;
                int c = 8 * q;
                acc = Elem.Ld(values, g.TV, v0) * Elem.Ld(x, g.TA, xr + c + (code & 3)) + acc;
                acc = Elem.Ld(values, g.TV, v0 + 1) * Elem.Ld(x, g.TA, xr + c + (code >> 2 & 3)) + acc;
                acc = Elem.Ld(values, g.TV, v0 + 2) * Elem.Ld(x, g.TA, xr + c + 4 + (code >> 4 & 3)) + acc;
                acc = Elem.Ld(values, g.TV, v0 + 3) * Elem.Ld(x, g.TA, xr + c + 4 + (code >> 6 & 3)) + acc;
            }
            partial[tid] = acc;
            Group.Barrier();
            for (int stride = LinearThreads / 2; stride > 0; stride >>= 1)
            {
                if (tid < stride) partial[tid] += partial[tid + stride];
                Group.Barrier();
            }
            if (tid == 0) Elem.St(y, g.TB, (long)t * g.O + row, partial[0]);
            Group.Barrier();
        }
    }
}
