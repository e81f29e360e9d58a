// `gemm` subcommand: GFLOP/s of Gemm.Sgemm on the PERF.md shapes (median of timed samples after
// warm-up), side by side with OpenBLAS cblas_sgemm at the same thread count when it can be loaded.
using System.Diagnostics;
using System.Runtime.InteropServices;
using Lors.Tensors.Cpu;

namespace Lors.Bench;

public static unsafe class GemmBench
{
    /// <summary>(M, N, K) of the reference shapes: square, wide, attention-ish, and the two rank-16 adapter products.</summary>
    public static readonly (int M, int N, int K)[] Shapes =
    [
        (1024, 1024, 1024), (2048, 2048, 2048), (4096, 256, 4096), (256, 688, 2048),
        (2048, 2048, 16), (2048, 16, 2048), (16, 2048, 2048),
    ];

    public static int Run(string[] args)
    {
        int threads = Program.IntOption(args, "--threads", Environment.ProcessorCount);
        int samples = Program.IntOption(args, "--reps", 9);
        CpuFeatures.MaxThreads = threads;
        var shapes = Shapes;
        int si = Array.IndexOf(args, "--shape");
        if (si >= 0 && si + 1 < args.Length)
        {
            // e.g. --shape 1024x1024x1024 (M x N x K)
            var d = args[si + 1].Split('x').Select(int.Parse).ToArray();
            shapes = [(d[0], d[1], d[2])];
        }
        var blas = args.Contains("--no-blas") ? null : OpenBlas.TryLoad();
        blas?.SetThreads(threads);

        Console.WriteLine($"threads={threads} simd={CpuFeatures.Level} samples={samples} (median) " +
            $"OPENBLAS_CORETYPE={Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") ?? "(unset)"} " +
            $"OPENBLAS_L2_SIZE={Environment.GetEnvironmentVariable("OPENBLAS_L2_SIZE") ?? "(unset)"}");
        Console.WriteLine(blas == null ? "OpenBLAS: libopenblas.so.0 not found, baseline skipped" : "OpenBLAS: libopenblas.so.0");
        Console.WriteLine($"{"M x N x K",-20} {"LoRS GFLOP/s",13} {"OpenBLAS",10} {"ratio",7} {"best LoRS",10} {"best BLAS",10}");
        foreach (var (m, n, k) in shapes)
        {
            float* a = Random((long)m * k, 1), b = Random((long)k * n, 2), c = Random((long)m * n, 3);
            double flops = 2.0 * m * n * k;
            Action ours = () => Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            Action? theirs = blas == null ? null : () => blas.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            var (oursMed, oursBest, blasMed, blasBest) = TimeInterleaved(ours, theirs, samples);
            string Rate(double t) => double.IsNaN(t) ? "" : (flops / t / 1e9).ToString("F1");
            string ratio = theirs == null ? "" : (blasMed / oursMed).ToString("F2");
            Console.WriteLine($"{$"{m} x {n} x {k}",-20} {Rate(oursMed),13} {Rate(blasMed),10} {ratio,7} {Rate(oursBest),10} {Rate(blasBest),10}");
            NativeMemory.AlignedFree(a); NativeMemory.AlignedFree(b); NativeMemory.AlignedFree(c);
        }
        return 0;
    }

    /// <summary>
    /// Median and best seconds per call of each candidate. Samples alternate between the two so that load
    /// from other processes on a shared machine hits both alike; each sample lasts ~50 ms after warm-up.
    /// </summary>
    public static (double Med, double Best, double OtherMed, double OtherBest) TimeInterleaved(Action first, Action? second, int samples)
    {
        int n1 = CallsPerSample(first), n2 = second == null ? 0 : CallsPerSample(second);
        var t1 = new double[samples];
        var t2 = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            t1[s] = Sample(first, n1);
            if (second == null) { t2[s] = double.NaN; continue; }
            t2[s] = Sample(second, n2);
            // OpenBLAS workers busy-wait for a while after a call; let them park before timing the other side.
            Thread.Sleep(250);
        }
        Array.Sort(t1);
        Array.Sort(t2);
        return (t1[samples / 2], t1[0], t2[samples / 2], t2[0]);
    }

    private static int CallsPerSample(Action call)
    {
        var sw = Stopwatch.StartNew();
        int warm = 0;
        while (warm < 3 || sw.Elapsed.TotalMilliseconds < 300) { call(); warm++; }
        return Math.Max(1, (int)(0.05 / (sw.Elapsed.TotalSeconds / warm)));
    }

    private static double Sample(Action call, int calls)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++) call();
        return sw.Elapsed.TotalSeconds / calls;
    }

    /// <summary>64-byte-aligned buffer of uniform values in [-1, 1).</summary>
    public static float* Random(long n, int seed)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(n * sizeof(float)), 64);
        var rng = new Random(seed);
        for (long i = 0; i < n; i++) p[i] = (float)(rng.NextDouble() * 2 - 1);
        return p;
    }
}
