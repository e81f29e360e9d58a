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
        int samples = Program.IntOption(args, "--reps", 7);
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
        Console.WriteLine($"{"M x N x K",-20} {"LoRS GFLOP/s",13} {"OpenBLAS",10} {"ratio",7}");
        foreach (var (m, n, k) in shapes)
        {
            float* a = Random((long)m * k, 1), b = Random((long)k * n, 2), c = Random((long)m * n, 3);
            double flops = 2.0 * m * n * k;
            double ours = flops / Time(() => Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n), samples) / 1e9;
            string theirs = "", ratio = "";
            if (blas != null)
            {
                double t = flops / Time(() => blas.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n), samples) / 1e9;
                theirs = t.ToString("F1");
                ratio = (ours / t).ToString("F2");
            }
            Console.WriteLine($"{$"{m} x {n} x {k}",-20} {ours,13:F1} {theirs,10} {ratio,7}");
            NativeMemory.AlignedFree(a); NativeMemory.AlignedFree(b); NativeMemory.AlignedFree(c);
        }
        return 0;
    }

    /// <summary>Median seconds per call: warm up, then time samples of enough calls to last ~50 ms each.</summary>
    public static double Time(Action call, int samples)
    {
        var sw = Stopwatch.StartNew();
        int warm = 0;
        while (warm < 3 || sw.Elapsed.TotalMilliseconds < 200) { call(); warm++; }
        double perCall = sw.Elapsed.TotalSeconds / warm;
        int calls = Math.Max(1, (int)(0.05 / perCall));
        var times = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            sw.Restart();
            for (int i = 0; i < calls; i++) call();
            times[s] = sw.Elapsed.TotalSeconds / calls;
        }
        Array.Sort(times);
        return times[samples / 2];
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
