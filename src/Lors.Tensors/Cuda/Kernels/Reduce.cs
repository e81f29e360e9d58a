// Reductions of x viewed as [outer, n, inner] over n, in double. Long axes are split into chunks whose partial
// results (double) are combined by a second pass in a fixed order: deterministic, and many blocks stay busy.
using ILGPU;

namespace Lors.Tensors.Cuda.Kernels;

internal struct ReduceArgs
{
    public int Op, DType, Outer, N, Inner, Chunks, ChunkLen;
    /// <summary>1 when this pass writes the final F32 result (single chunk), 0 when it writes double partials.</summary>
    public int Final;
}

internal static class ReduceKernels
{
    public static double Init(int op) =>
        op == (int)ReduceOp.Max ? double.NegativeInfinity : op == (int)ReduceOp.Min ? double.PositiveInfinity : 0.0;

    private static double Term(int op, float v) => op == (int)ReduceOp.SumSquares ? (double)v * v : v;

    private static float Finish(int op, double acc, int n) => op == (int)ReduceOp.Mean ? (float)(acc / n) : (float)acc;

    /// <summary>inner == 1: block (chunk = Grid.IdxX, row = Grid.IdxY... flattened as Grid.IdxX = row * Chunks + chunk).</summary>
    public static void Rows(ArrayView<byte> x, ArrayView<float> y, ArrayView<double> partial, ReduceArgs a)
    {
        var sh = SharedMemory.Allocate<double>(32);
        int block = Grid.IdxX;
        int row = block / a.Chunks, chunk = block % a.Chunks;
        long start = (long)chunk * a.ChunkLen;
        long end = start + a.ChunkLen < a.N ? start + a.ChunkLen : a.N;
        long rowBase = (long)row * a.N;
        double acc = Init(a.Op);
        for (long k = start + Group.IdxX; k < end; k += Group.DimX)
            acc = Block.Combine(a.Op, acc, Term(a.Op, Elem.Ld(x, a.DType, rowBase + k)));
        acc = Block.Reduce(a.Op, acc, sh);
        if (Group.IdxX == 0)
        {
            if (a.Final != 0) y[row] = Finish(a.Op, acc, a.N);
            else partial[block] = acc;
        }
    }

    /// <summary>inner > 1: one thread per (outer, chunk, inner) walks its chunk of n (coalesced over inner).</summary>
    public static void Columns(Index1D t, ArrayView<byte> x, ArrayView<float> y, ArrayView<double> partial, ReduceArgs a)
    {
        int j = t % a.Inner;
        int rest = t / a.Inner;
        int chunk = rest % a.Chunks, o = rest / a.Chunks;
        long start = (long)chunk * a.ChunkLen;
        long end = start + a.ChunkLen < a.N ? start + a.ChunkLen : a.N;
        double acc = Init(a.Op);
        for (long k = start; k < end; k++)
            acc = Block.Combine(a.Op, acc, Term(a.Op, Elem.Ld(x, a.DType, ((long)o * a.N + k) * a.Inner + j)));
        if (a.Final != 0) y[(long)o * a.Inner + j] = Finish(a.Op, acc, a.N);
        else partial[t] = acc; // layout [outer, chunks, inner]
    }

    /// <summary>Second pass: one thread per output (o, j) combines partials [outer, chunks, inner] in chunk order.</summary>
    public static void Finalize(Index1D t, ArrayView<double> partial, ArrayView<float> y, ReduceArgs a)
    {
        int j = t % a.Inner, o = t / a.Inner;
        double acc = Init(a.Op);
        for (int c = 0; c < a.Chunks; c++) acc = Block.Combine(a.Op, acc, partial[((long)o * a.Chunks + c) * a.Inner + j]);
        y[t] = Finish(a.Op, acc, a.N);
    }

    /// <summary>Index of the first maximum of each row (NaN counts as the maximum); one block per row.</summary>
    public static void ArgMax(ArrayView<byte> x, ArrayView<int> y, int dt, int n)
    {
        var shv = SharedMemory.Allocate<float>(Block.Threads);
        var shi = SharedMemory.Allocate<int>(Block.Threads);
        int row = Grid.IdxX, tid = Group.IdxX;
        long rowBase = (long)row * n;
        float best = float.NegativeInfinity;
        int bi = int.MaxValue;
        for (int k = tid; k < n; k += Group.DimX)
        {
            float v = Elem.Ld(x, dt, rowBase + k);
            if (Better(v, k, best, bi)) { best = v; bi = k; }
        }
        shv[tid] = best;
        shi[tid] = bi;
        Group.Barrier();
        for (int s = Group.DimX / 2; s > 0; s >>= 1)
        {
            if (tid < s && Better(shv[tid + s], shi[tid + s], shv[tid], shi[tid])) { shv[tid] = shv[tid + s]; shi[tid] = shi[tid + s]; }
            Group.Barrier();
        }
        if (tid == 0) y[row] = shi[0] == int.MaxValue ? 0 : shi[0];
    }

    private static bool Better(float v, int i, float best, int bi)
    {
        if (i == int.MaxValue) return false;
        bool vn = float.IsNaN(v), bn = float.IsNaN(best);
        if (vn != bn) return vn;
        if (v > best) return true;
        return (v == best || (vn && bn)) && i < bi;
    }
}
