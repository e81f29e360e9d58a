// Pruning kernels: the lowest-k mask of score rows [rows, n] (block radix select per row; a thread per row for
// short rows such as N:M groups), SparseGPT's diagonal-block inverse Cholesky [k, k] (one block) and SparseGPT's
// column loop over transposed weights [count, rows] (a thread per weight row; coalesced over rows).
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

internal struct PruneArgs
{
    public int N, CountsLen, Count, Rows, GroupN, GroupM;
    public long Ld;
}

internal static class PruningKernels
{
    /// <summary>Rows up to this long use the thread-per-row rank kernel.</summary>
    public const int ShortRow = 64;

    /// <summary>A uint key ordered like the float (-0 equals +0).</summary>
    private static uint Key(float v)
    {
        uint bits = Interop.FloatAsInt(v);
        if (bits == 0x8000_0000u) bits = 0;
        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }

    /// <summary>Short rows: element j is pruned when fewer than k elements precede it in (score, index) order.</summary>
    public static void MaskLowestShort(Index1D row, ArrayView<float> s, ArrayView<int> counts, ArrayView<byte> mask, PruneArgs a)
    {
        int ri = row;
        long b = (long)ri * a.N;
        int k = counts[a.CountsLen == 1 ? 0 : ri];
        for (int j = 0; j < a.N; j++)
        {
            float v = s[b + j];
            int rank = 0;
            for (int p = 0; p < a.N; p++)
            {
                float w = s[b + p];
                if (w < v || (w == v && p < j)) rank++;
            }
            mask[b + j] = rank < k ? (byte)0 : (byte)1;
        }
    }

    /// <summary>
    /// One block per row: four 8-bit radix passes find the key T of the k-th smallest score and how many lie below it;
    /// ties at T are pruned in index order through a block scan (only when some but not all ties go).
    /// Block size at most 1024 (the scan buffer).
    /// </summary>
    public static void MaskLowestRows(ArrayView<float> s, ArrayView<int> counts, ArrayView<byte> mask, PruneArgs a)
    {
        var hist = SharedMemory.Allocate<int>(256);
        var state = SharedMemory.Allocate<int>(4); // prefix bits, remaining rank, below, equal
        var scan = SharedMemory.Allocate<int>(1024);
        int row = Grid.IdxX, tid = Group.IdxX, nt = Group.DimX, n = a.N;
        long b = (long)row * n;
        int k = counts[a.CountsLen == 1 ? 0 : row];
        if (k <= 0 || k >= n)
        {
            byte v = k <= 0 ? (byte)1 : (byte)0;
            for (int i = tid; i < n; i += nt) mask[b + i] = v;
            return;
        }
        if (tid == 0) { state[0] = 0; state[1] = k - 1; state[2] = 0; state[3] = 0; }
        Group.Barrier();
        for (int pass = 0; pass < 4; pass++)
        {
            int shift = 24 - 8 * pass;
            for (int i = tid; i < 256; i += nt) hist[i] = 0;
            Group.Barrier();
            uint prefix = (uint)state[0];
            uint high = pass == 0 ? 0u : 0xFFFF_FFFFu << (32 - 8 * pass);
            for (int i = tid; i < n; i += nt)
            {
                uint key = Key(s[b + i]);
                if ((key & high) == prefix) Atomic.Add(ref hist[(int)((key >> shift) & 255u)], 1);
            }
            Group.Barrier();
            if (tid == 0)
            {
                int rank = state[1], below = state[2], d = 0;
                while (rank >= hist[d]) { rank -= hist[d]; below += hist[d]; d++; }
                state[0] = (int)(prefix | ((uint)d << shift));
                state[1] = rank;
                state[2] = below;
                state[3] = hist[d];
            }
            Group.Barrier();
        }
        uint t = (uint)state[0];
        int ties = k - state[2], equal = state[3];
        if (ties == equal)
        {
            for (int i = tid; i < n; i += nt) mask[b + i] = Key(s[b + i]) <= t ? (byte)0 : (byte)1;
            return;
        }
        // Ties in index order: each thread owns a contiguous segment; a block scan of the per-segment tie counts
        // gives each segment its first tie rank (two passes over the row, one scan).
        int len = (n + nt - 1) / nt;
        int s0 = tid * len < n ? tid * len : n, s1 = s0 + len < n ? s0 + len : n;
        int mine = 0;
        for (int i = s0; i < s1; i++) if (Key(s[b + i]) == t) mine++;
        scan[tid] = mine;
        Group.Barrier();
        for (int off = 1; off < nt; off <<= 1)
        {
            int add = tid >= off ? scan[tid - off] : 0;
            Group.Barrier();
            scan[tid] += add;
            Group.Barrier();
        }
        int before = scan[tid] - mine;
        for (int i = s0; i < s1; i++)
        {
            uint key = Key(s[b + i]);
            bool prune = key < t || (key == t && before++ < ties);
            mask[b + i] = prune ? (byte)0 : (byte)1;
        }
    }

    /// <summary>
    /// One block: the lower Cholesky L of R = J S J (S read reversed in place), then X = L^-1 a column per thread,
    /// stored as U = J X J into u (row stride a.Ld). info[0] = 1 + the first non-positive pivot, else 0.
    /// </summary>
    public static void InverseCholesky(ArrayView<float> s, ArrayView<float> u, ArrayView<int> info, PruneArgs a)
    {
        int k = a.N, tid = Group.IdxX, nt = Group.DimX;
        long ld = a.Ld;
        for (int j = 0; j < k; j++)
        {
            float d = s[R(k, j, j)];
            if (!(d > 0f))
            {
                if (tid == 0) info[0] = j + 1;
                return;
            }
            float l = XMath.Sqrt(d);
            Group.Barrier();
            if (tid == 0) s[R(k, j, j)] = l;
            for (int i = j + 1 + tid; i < k; i += nt) s[R(k, i, j)] = s[R(k, i, j)] / l;
            Group.Barrier();
            int m = k - 1 - j;
            for (int t = tid; t < m * m; t += nt)
            {
                int i = j + 1 + t / m, c = j + 1 + t % m;
                if (c <= i) s[R(k, i, c)] -= s[R(k, i, j)] * s[R(k, c, j)];
            }
            Group.Barrier();
        }
        for (int c = tid; c < k; c += nt)
        {
            for (int i = 0; i < c; i++) u[(k - 1 - i) * ld + (k - 1 - c)] = 0f;
            u[(k - 1 - c) * ld + (k - 1 - c)] = 1f / s[R(k, c, c)];
            for (int i = c + 1; i < k; i++)
            {
                float v = 0f;
                for (int p = c; p < i; p++) v += s[R(k, i, p)] * u[(k - 1 - p) * ld + (k - 1 - c)];
                u[(k - 1 - i) * ld + (k - 1 - c)] = -v / s[R(k, i, i)];
            }
        }
        if (tid == 0) info[0] = 0;
    }

    /// <summary>Element (i, j) of the reversed matrix J S J.</summary>
    private static long R(int k, int i, int j) => (long)(k - 1 - i) * k + (k - 1 - j);

    /// <summary>A thread per weight row r: the block's columns in order, OBS update of the later ones (see IBackend).</summary>
    public static void SparseGptBlock(Index1D ri, ArrayView<float> w, ArrayView<float> u, ArrayView<byte> mask, ArrayView<float> err, ArrayView<float> loss, PruneArgs a)
    {
        int r = ri, count = a.Count, rows = a.Rows, gm = a.GroupM;
        float l = 0f;
        for (int i = 0; i < count; i++)
        {
            if (gm > 0 && i % gm == 0)
                for (int j = 0; j < gm; j++)
                {
                    float vj = w[(long)(i + j) * rows + r] / u[(long)(i + j) * count + i + j];
                    float sj = vj * vj;
                    int rank = 0;
                    for (int p = 0; p < gm; p++)
                    {
                        float vp = w[(long)(i + p) * rows + r] / u[(long)(i + p) * count + i + p];
                        float sp = vp * vp;
                        if (sp < sj || (sp == sj && p < j)) rank++;
                    }
                    mask[(long)(i + j) * rows + r] = rank < gm - a.GroupN ? (byte)0 : (byte)1;
                }
            float d = u[(long)i * count + i];
            float wi = w[(long)i * rows + r];
            float q = mask[(long)i * rows + r] == 0 ? 0f : wi;
            float e = (wi - q) / d;
            l += e * e / 2f;
            if (e != 0f)
                for (int j = i + 1; j < count; j++) w[(long)j * rows + r] -= e * u[(long)i * count + j];
            w[(long)i * rows + r] = q;
            err[(long)i * rows + r] = e;
        }
        loss[r] += l;
    }
}
