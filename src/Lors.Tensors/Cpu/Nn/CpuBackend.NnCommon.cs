// Shared helpers of the CPU neural-network kernels: row-parallel loops and the F32/F64 dispatch.
// Rows are independent in every kernel here, so each thread takes a contiguous block of rows.
using System.Numerics;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>Runs body(r0, r1) over [0, rows) split into one block per thread; small work runs inline.</summary>
    internal static void ParallelRows(long rows, long workPerRow, Action<long, long> body)
    {
        if (rows <= 0) return;
        long total = rows * Math.Max(1, workPerRow);
        int parts = total < 1 << 15 ? 1 : (int)Math.Min(CpuFeatures.MaxThreads, rows);
        if (parts <= 1) { body(0, rows); return; }
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts },
            p => body(rows * p / parts, rows * (p + 1) / parts));
    }

    /// <summary>Dispatches to the double or float instantiation of a generic kernel by the (widened) dtype.</summary>
    private static bool IsF64(Tensor t) => t.DType == DType.F64;

    private static T Cast<T>(double v) where T : INumberBase<T> => T.CreateTruncating(v);
}
