// One row of a conformance run: an op and case compared between a reference device (the CPU) and a target device.
namespace Lors.Tensors.Conformance;

/// <summary>
/// MaxAbsErr and MaxRelErr are over every element of every output of the case (relative to max(|ref|, 1e-30));
/// Skipped means the reference device lacks the op, so nothing was compared. Milliseconds times the target run.
/// </summary>
public sealed record ConformanceResult(string Op, string Case, double MaxAbsErr, double MaxRelErr, bool Passed, string Message, double Milliseconds, bool Skipped = false)
{
    public override string ToString() =>
        $"{(Skipped ? "SKIP" : Passed ? "ok  " : "FAIL")} {Op,-22} {Case,-44} abs {MaxAbsErr,9:E2} rel {MaxRelErr,9:E2} {Milliseconds,9:F2} ms {Message}";
}

/// <summary>Tolerances: an element passes when |target - ref| <= Abs + Rel * |ref|.</summary>
public readonly record struct Tolerance(double Abs, double Rel)
{
    /// <summary>F32 elementwise: exact fp32 arithmetic in both, but GPU exp/log are a few ulp off libm.</summary>
    public static readonly Tolerance F32 = new(1e-6, 2e-5);
    /// <summary>BF16 outputs: one bf16 rounding step (2^-8 relative) may land on either side.</summary>
    public static readonly Tolerance BF16 = new(1e-2, 1.6e-2);
    public static readonly Tolerance Exact = new(0, 0);

    public static Tolerance For(DType t) => t == DType.BF16 || t == DType.F16 ? BF16 : F32;

    /// <summary>Sums of n terms of size ~magnitude: absolute error grows like sqrt(n) ulps (fp32 tree vs pairwise/double).</summary>
    public static Tolerance Sum(DType t, long n, double magnitude) =>
        t == DType.BF16 || t == DType.F16
            ? new(magnitude * 1.6e-2 * Math.Sqrt(n) * 0.25 + 1e-2, 1.6e-2)
            : new(magnitude * 2e-6 * Math.Sqrt(n) + 1e-6, 2e-5);
}
