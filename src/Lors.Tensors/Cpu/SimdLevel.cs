// Which vector width the CPU kernels may use. Tests lower it to check the AVX2-only and scalar paths
// on a machine that has AVX-512; LORS_SIMD=scalar|avx2|avx512 does the same from the environment.
using System.Runtime.Intrinsics;

namespace Lors.Tensors.Cpu;

public enum SimdLevel { Scalar = 0, Avx2 = 1, Avx512 = 2 }

public static class CpuFeatures
{
    /// <summary>The widest level this processor supports.</summary>
    public static SimdLevel Hardware { get; } =
        Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? SimdLevel.Avx512
        : Vector256.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Fma.IsSupported ? SimdLevel.Avx2
        : SimdLevel.Scalar;

    private static SimdLevel _level = FromEnvironment();

    /// <summary>The level kernels use now: never above <see cref="Hardware"/>.</summary>
    public static SimdLevel Level
    {
        get => _level;
        set => _level = value > Hardware ? Hardware : value;
    }

    public static bool UseAvx512 => _level >= SimdLevel.Avx512;
    public static bool UseAvx2 => _level >= SimdLevel.Avx2;

    /// <summary>Threads the CPU kernels may use (defaults to all cores; LORS_THREADS overrides).</summary>
    public static int MaxThreads { get; set; } =
        int.TryParse(Environment.GetEnvironmentVariable("LORS_THREADS"), out var n) && n > 0 ? n : Environment.ProcessorCount;

    /// <summary>Runs <paramref name="body"/> with the level lowered, restoring it afterwards.</summary>
    public static void With(SimdLevel level, Action body)
    {
        var saved = _level;
        Level = level;
        try { body(); } finally { _level = saved; }
    }

    private static SimdLevel FromEnvironment()
    {
        var s = Environment.GetEnvironmentVariable("LORS_SIMD")?.Trim().ToLowerInvariant();
        var wanted = s switch { "scalar" => SimdLevel.Scalar, "avx2" => SimdLevel.Avx2, _ => SimdLevel.Avx512 };
        return wanted > Hardware ? Hardware : wanted;
    }
}
