// The blocked GEMM loop nest (jc: NC columns, pc: KC depth, ic: MC rows, then NR x MR micro-tiles) and
// the split of C across threads. Each thread packs its own panels, so workers never wait on each other.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Lors.Tensors.Cpu;

internal static unsafe class GemmDriver
{
    /// <summary>Below this many multiply-adds a second thread costs more than it saves.</summary>
    public const long ParallelThreshold = 1L << 21;

    /// <summary>C larger than this (floats) is written with streaming stores when overwritten in one pass.</summary>
    private const long StreamThreshold = 1L << 21;

    public static void Execute(GemmOperand a, GemmOperand b, int M, int N, int K, float alpha, float beta,
        float* C, int ldc, int threads)
    {
        if (M == 0 || N == 0) return;
        if (K == 0 || alpha == 0f)
        {
            Gemm.ScaleC(M, N, beta, C, ldc);
            return;
        }
        var ks = GemmKernelSet.For(M);
        // With one K block every C element is written exactly once, so when C is far larger than the
        // caches (rank-16 outer products) bypassing them saves the read-for-ownership traffic.
        bool stream = beta == 0f && K <= ks.KC && ((nint)C & 63) == 0 && (ldc & 15) == 0 && (long)M * N >= StreamThreshold;

        // Splitting N duplicates A packing (M*K per thread), splitting M duplicates B packing (N*K):
        // split the dimension whose duplicate is cheaper, in whole micro-tiles.
        bool splitN = M <= N;
        int unit = splitN ? ks.NR : ks.MR;
        int extent = splitN ? N : M;
        int parts = (int)Math.Min(Math.Min(threads, (extent + unit - 1) / unit), 64);
        if ((long)M * N * K < ParallelThreshold) parts = 1;
        if (parts <= 1)
        {
            RunSerial(ks, a, b, M, N, K, alpha, beta, C, ldc, stream);
            return;
        }

        int units = (extent + unit - 1) / unit;
        nint cAddr = (nint)C;
        GemmThreads.Run(parts, p =>
        {
            int lo = (int)Math.Min((long)units * p / parts * unit, extent);
            int hi = (int)Math.Min((long)units * (p + 1) / parts * unit, extent);
            if (lo >= hi) return;
            float* c = (float*)cAddr;
            if (splitN)
                RunSerial(ks, a, b.Offset(0, lo), M, hi - lo, K, alpha, beta, c + lo, ldc, stream);
            else
                RunSerial(ks, a.Offset(lo, 0), b, hi - lo, N, K, alpha, beta, c + (long)lo * ldc, ldc, stream);
        });
    }

    /// <summary>Single-threaded blocked GEMM on one C block with one pooled workspace.</summary>
    private static void RunSerial(in GemmKernelSet ks, GemmOperand a, GemmOperand b, int M, int N, int K,
        float alpha, float beta, float* C, int ldc, bool stream)
    {
        var ws = GemmWorkspace.Rent();
        try
        {
            // Even block sizes: K = 300 becomes 2 x 150 rather than 256 + 44.
            int kc0 = Balanced(K, ks.KC, 1);
            int mc0 = Balanced(M, ks.MC, ks.MR);
            for (int jc = 0; jc < N; jc += ks.NC)
            {
                int nc = Math.Min(ks.NC, N - jc);
                for (int pc = 0; pc < K; pc += kc0)
                {
                    int kc = Math.Min(kc0, K - pc);
                    float betaNow = pc == 0 ? beta : 1f;
                    GemmPacking.PackB(b.Offset(pc, jc), kc, nc, ws.B, ks.NR, ks.HalfNR);
                    for (int ic = 0; ic < M; ic += mc0)
                    {
                        int mc = Math.Min(mc0, M - ic);
                        GemmPacking.PackA(a.Offset(ic, pc), mc, kc, ws.A, ks.MR);
                        MacroKernel(ks, ws, mc, nc, kc, alpha, betaNow, C + (long)ic * ldc + jc, ldc, stream);
                    }
                }
            }
        }
        finally { GemmWorkspace.Return(ws); }
        // Streaming stores are weakly ordered: publish them before another thread may read C.
        if (stream && Sse.IsSupported) Sse.StoreFence();
    }

    /// <summary>Runs the micro-kernel over every MR x NR tile of a packed mc x nc block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MacroKernel(in GemmKernelSet ks, GemmWorkspace ws, int mc, int nc, int kc,
        float alpha, float beta, float* C, int ldc, bool stream)
    {
        int mr = ks.MR;
        var full = stream ? ks.Stream : ks.Full;
        for (int jr = 0; jr < nc; jr += ks.NR)
        {
            int cols = Math.Min(ks.NR, nc - jr);
            int w = cols <= ks.HalfNR ? ks.HalfNR : ks.NR;
            var kernel = w == ks.NR ? full : ks.Half;
            float* pb = ws.B + (long)jr * kc;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                float* pa = ws.A + (long)ir * kc;
                float* c = C + (long)ir * ldc + jr;
                if (rows == mr && cols == w)
                {
                    kernel(kc, pa, pb, c, ldc, alpha, beta);
                    continue;
                }
                // Partial tile: compute the whole tile into scratch, then merge only the valid part.
                kernel(kc, pa, pb, ws.Tile, w, 1f, 0f);
                for (int r = 0; r < rows; r++)
                {
                    float* t = ws.Tile + r * w;
                    float* cr = c + (long)r * ldc;
                    if (beta == 0f) for (int j = 0; j < cols; j++) cr[j] = alpha * t[j];
                    else for (int j = 0; j < cols; j++) cr[j] = alpha * t[j] + beta * cr[j];
                }
            }
        }
    }

    /// <summary>Splits n into equal blocks of at most max, each a multiple of align.</summary>
    private static int Balanced(int n, int max, int align)
    {
        int blocks = (n + max - 1) / max;
        int size = (n + blocks - 1) / blocks;
        size = (size + align - 1) / align * align;
        return Math.Min(Math.Max(size, align), Math.Max(max, align));
    }
}
