// One row of a conformance run: an op and case compared between a reference device (the CPU) and a target device.
using Lors.Tensors;

namespace Lors.Conformance;

/// <summary>
/// MaxAbsErr and MaxRelErr are over every element of every output of the case (relative to max(|ref|, 1e-30));
/// Skipped means the reference device lacks the op, so nothing was compared. Milliseconds times the target run.
/// </summary>
public sealed record ConformanceResult(string Op, string Case, double MaxAbsErr, double MaxRelErr, bool Passed, string Message, double Milliseconds, bool Skipped = false)
{
    public override string ToString() =>
        $"{(Skipped ? "SKIP" : Passed ? "ok  " : "FAIL")} {Op,-22} {Case,-44} abs {MaxAbsErr,9:E2} rel {MaxRelErr,9:E2} {Milliseconds,9:F2} ms {Message}";
}

/// <summary>
/// Tolerances: an element passes when |target - ref| &lt;= Abs + Rel * |ref|. The one per-dtype table for the conformance
/// harness (`lors selftest`) and the xunit backend suite (tests/Lors.Tests/Backend, which uses Rel).
/// </summary>
public readonly record struct Tolerance(double Abs, double Rel)
{
    /// <summary>F64 (CPU only): double arithmetic in a different order; 1e-10 leaves room for long sums.</summary>
    public static readonly Tolerance F64 = new(1e-12, 1e-10);
    /// <summary>F32: 24-bit mantissa (6e-8 per rounding); GPU exp/log are a few ulp off libm; a few hundred ops stay under 1e-5.</summary>
    public static readonly Tolerance F32 = new(1e-6, 1e-5);
    /// <summary>F16 outputs: 11-bit mantissa, one rounding is up to 2^-11 = 4.9e-4 relative; inputs are rounded too.</summary>
    public static readonly Tolerance F16 = new(1e-3, 4e-3);
    /// <summary>BF16 outputs: 8-bit mantissa, one rounding is up to 2^-9 = 2e-3 relative, a step 2^-8; room for a few.</summary>
    public static readonly Tolerance BF16 = new(1e-2, 1.5e-2);
    public static readonly Tolerance Exact = new(0, 0);

    public static Tolerance For(DType t) => t switch
    {
        DType.F64 => F64,
        DType.F32 => F32,
        DType.F16 => F16,
        DType.BF16 => BF16,
        _ => Exact,
    };

    /// <summary>Sums of n terms of size ~magnitude: absolute error grows like sqrt(n) ulps (fp32 tree vs pairwise/double).</summary>
    public static Tolerance Sum(DType t, long n, double magnitude) => t switch
    {
        DType.BF16 or DType.F16 => new(magnitude * For(t).Rel * Math.Sqrt(n) * 0.25 + For(t).Abs, For(t).Rel),
        _ => new(magnitude * 2e-6 * Math.Sqrt(n) + 1e-6, 2e-5),
    };
}
