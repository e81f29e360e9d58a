// The abstract backend suite: every Ops entry point checked against a naive double-precision reference written here.
// A subclass picks the device (CpuBackendTests; a CUDA subclass implements ICudaSuite). This file holds the helpers.
using Lors.Tensors;
using Lors.Conformance;

namespace Lors.Tests.Backend;

public abstract partial class BackendSuite
{
    protected abstract Device Device { get; }

    /// <summary>Runs body once per SIMD level the backend has (the CPU overrides this; other devices run once).</summary>
    protected virtual void ForEachLevel(Action body) => body();

    /// <summary>Float dtypes the device supports for compute ops (F64 is CPU-only).</summary>
    protected virtual DType[] FloatTypes => [DType.F32, DType.BF16, DType.F16, DType.F64];

    protected static double[] Rand(int n, int seed, double lo = -1, double hi = 1)
    {
        var r = new Random(seed);
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = lo + (hi - lo) * r.NextDouble();
        return a;
    }

    /// <summary>What storing a value in dtype does to it, so references use the exact inputs the backend sees.</summary>
    protected static double Round(double v, DType dt) => dt switch
    {
        DType.F32 => (float)v,
        DType.BF16 => Half16.RoundBF16((float)v),
        DType.F16 => (float)(Half)(float)v,
        _ => v,
    };

    protected static double[] Round(double[] a, DType dt) => a.Select(v => Round(v, dt)).ToArray();

    protected Tensor Make(double[] data, int[] shape, DType dt) => Tensor.FromArray(data, shape, Device, dt);

    protected Tensor MakeInts(int[] data, int[] shape) => Tensor.FromArray(data, shape, Device);

    /// <summary>Relative tolerance per dtype: the one table shared with the conformance harness (Tolerance.For).</summary>
    protected static double Tol(DType dt) => Tolerance.For(dt).Rel;

    /// <summary>
    /// |actual - expected| &lt;= tol * (|expected| + floor), floor = max(scaleFloor * max|expected|, absFloor).
    /// The floor guards results that come from cancellation: gradients pass absFloor ~ the size of the terms summed.
    /// </summary>
    protected static void Close(double[] expected, Tensor actual, double tol, string what, double scaleFloor = 0.05, double absFloor = 1e-6)
    {
        var a = actual.ToDoubleArray();
        Assert.True(a.Length == expected.Length, $"{what}: {a.Length} elements, expected {expected.Length}");
        double max = expected.Length == 0 ? 0 : expected.Max(Math.Abs);
        double floor = Math.Max(scaleFloor * max, absFloor);
        for (int i = 0; i < a.Length; i++)
        {
            double err = Math.Abs(a[i] - expected[i]);
            if (!(err <= tol * (Math.Abs(expected[i]) + floor)) && !(double.IsNaN(a[i]) && double.IsNaN(expected[i])) && a[i] != expected[i])
                Assert.Fail($"{what}: element {i} is {a[i]:R}, expected {expected[i]:R} (error {err:E2}, tol {tol:E1})");
        }
    }

    /// <summary>
    /// For results of cancellation (gradients): |actual - expected| &lt;= tol * (|expected| + magnitude[i]), where
    /// magnitude[i] is the sum of the absolute values of the terms that make element i, so each element's allowance
    /// follows its own terms (a small gradient made of small terms gets a small allowance). Below the result dtype's
    /// smallest normal number precision is absolute, so that number joins the magnitude.
    /// </summary>
    protected static void CloseTerms(double[] expected, double[] magnitude, Tensor actual, double tol, string what)
    {
        double tiny = actual.DType switch { DType.F64 => 2.3e-308, DType.F16 => 6.2e-5, _ => 1.2e-38 };
        var a = actual.ToDoubleArray();
        Assert.True(a.Length == expected.Length, $"{what}: {a.Length} elements, expected {expected.Length}");
        for (int i = 0; i < a.Length; i++)
        {
            double err = Math.Abs(a[i] - expected[i]);
            if (!(err <= tol * (Math.Abs(expected[i]) + magnitude[i] + tiny)))
                Assert.Fail($"{what}: element {i} is {a[i]:R}, expected {expected[i]:R} (error {err:E2}, terms {magnitude[i]:E2}, tol {tol:E1})");
        }
    }

    protected static void Close(double[] expected, Tensor actual, DType dt, string what, double scaleFloor = 0.05, double absFloor = 1e-6)
        => Close(expected, actual, Tol(dt), what, scaleFloor, absFloor);

    protected static void Throws<TEx>(Action a, params string[] mustContain) where TEx : Exception
    {
        var ex = Assert.ThrowsAny<TEx>(a);
        foreach (var s in mustContain) Assert.Contains(s, ex.Message);
    }
}
