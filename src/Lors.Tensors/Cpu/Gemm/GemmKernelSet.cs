// The micro-kernel family and cache blocking chosen for a SIMD level. Blocking follows the usual
// Goto/BLIS reasoning: a KC x NR B panel stays in L1, the MC x KC packed A block in L2, KC x NC B in L3.
namespace Lors.Tensors.Cpu;

internal readonly unsafe struct GemmKernelSet
{
    /// <summary>C[MR x w] (+)= alpha * A-panel * B-panel; args: kc, packed a, packed b, c, ldc, alpha, beta.</summary>
    public readonly delegate*<int, float*, float*, float*, nint, float, float, void> Full, Half;
    /// <summary>Full-width kernel that overwrites C with non-temporal stores (aligned C, beta == 0, one K block).</summary>
    public readonly delegate*<int, float*, float*, float*, nint, float, float, void> Stream;
    public readonly int MR, NR, HalfNR, MC, KC, NC;

    private GemmKernelSet(int mr, int nr, int halfNr, int mc, int kc, int nc,
        delegate*<int, float*, float*, float*, nint, float, float, void> full,
        delegate*<int, float*, float*, float*, nint, float, float, void> half,
        delegate*<int, float*, float*, float*, nint, float, float, void> stream = null)
    {
        MR = mr; NR = nr; HalfNR = halfNr; MC = mc; KC = kc; NC = nc; Full = full; Half = half;
        Stream = stream != null ? stream : full;
    }

    private static readonly GemmKernelSet Avx512 = new(12, GemmKernelsAvx512.NR, GemmKernelsAvx512.HalfNR,
        mc: 192, kc: 256, nc: 2048, &GemmKernelsAvx512.KernelX32<Rows12>, &GemmKernelsAvx512.KernelX16<Rows12>,
        &GemmKernelsAvx512.KernelX32<Rows12Streaming>);
    // Short tiles for M = 8, 16, 40...: where 12-row tiles would mostly compute padding.
    private static readonly GemmKernelSet Avx512Short = new(8, GemmKernelsAvx512.NR, GemmKernelsAvx512.HalfNR,
        mc: 192, kc: 256, nc: 2048, &GemmKernelsAvx512.KernelX32<Rows8>, &GemmKernelsAvx512.KernelX16<Rows8>);
    private static readonly GemmKernelSet Avx2 = new(GemmKernelsAvx2.MR, GemmKernelsAvx2.NR, GemmKernelsAvx2.HalfNR,
        mc: 144, kc: 256, nc: 2048, &GemmKernelsAvx2.Kernel6x16, &GemmKernelsAvx2.Kernel6x8);
    private static readonly GemmKernelSet Scalar = new(GemmKernelsScalar.MR, GemmKernelsScalar.NR, GemmKernelsScalar.NR,
        mc: 64, kc: 256, nc: 1024, &GemmKernelsScalar.Kernel4x4, &GemmKernelsScalar.Kernel4x4);

    // Buffer sizes that fit every set, so one pooled workspace serves whatever level is active.
    public const long MaxPackedA = 192 * 256;
    public const long MaxPackedB = 256 * 2048;
    public const long MaxTile = 12 * 32;

    /// <summary>The set for <see cref="CpuFeatures.Level"/> as it is now and a problem with M rows.</summary>
    public static GemmKernelSet For(int m) => CpuFeatures.Level switch
    {
        SimdLevel.Avx512 => m <= 48 && RoundUp(m, 8) < RoundUp(m, 12) ? Avx512Short : Avx512,
        SimdLevel.Avx2 => Avx2,
        _ => Scalar,
    };

    private static int RoundUp(int x, int unit) => (x + unit - 1) / unit * unit;
}
