// Runs every IBackend op through the public Ops API on a target device and on a reference device (the CPU) with the
// same inputs, and compares outputs with per-dtype tolerances. Each case is isolated: a failure or exception is
// recorded and the run goes on. Cases are in BackendConformance.Cases.cs; sizes stay small enough for the CPU.
using System.Diagnostics;
using Lors.Tensors.Cuda;
using Lors.Tensors;

namespace Lors.Conformance;

public sealed partial class BackendConformance
{
    private readonly List<ConformanceResult> _results = new();
    private readonly Action<ConformanceResult>? _onResult;
    private readonly string? _filter;

    /// <param name="target">The device under test.</param>
    /// <param name="reference">The device trusted for expected values (default: the CPU).</param>
    /// <param name="filter">Only cases whose op name contains this text (case-insensitive), when given.</param>
    /// <param name="onResult">Called as each case finishes (e.g. to print progress).</param>
    public BackendConformance(Device target, Device? reference = null, string? filter = null, Action<ConformanceResult>? onResult = null)
    {
        Target = target;
        Reference = reference ?? Device.Cpu;
        _filter = filter;
        _onResult = onResult;
    }

    public Device Target { get; }
    public Device Reference { get; }

    /// <summary>Runs every case; never throws for a failing case.</summary>
    public IReadOnlyList<ConformanceResult> RunAll()
    {
        _results.Clear();
        Memory();
        Elementwise();
        Reductions();
        MatMuls();
        NnRows();
        NnLayers();
        Attention();
        AttentionMma();
        Training();
        Pruning();
        Sparse24();
        return _results;
    }

    /// <summary>Blocks until the device has finished queued work (CUDA launches are asynchronous).</summary>
    public static void Synchronize(Device d)
    {
        if (!d.IsCpu && Backends.Get(d) is CudaBackend cb) cb.Synchronize();
    }

    // ---- the harness -------------------------------------------------------------------------------------

    /// <summary>
    /// Runs body on the reference and on the target; body builds its inputs with In()/Ints() (identical values on
    /// both devices) and returns its outputs as float arrays. tolerances: one per output, or one for all.
    /// </summary>
    private void Case(string op, string name, Func<Device, float[][]> body, params Tolerance[] tolerances)
    {
        if (_filter is not null && !op.Contains(_filter, StringComparison.OrdinalIgnoreCase)) return;
        ConformanceResult r;
        float[][] expected;
        try { expected = Scoped(body, Reference); }
        catch (NotImplementedException e)
        {
            Add(new ConformanceResult(op, name, 0, 0, true, $"reference {Reference} lacks it: {e.Message}", 0, Skipped: true));
            return;
        }
        catch (Exception e)
        {
            Add(new ConformanceResult(op, name, 0, 0, false, $"reference {Reference} threw {e.GetType().Name}: {e.Message}", 0));
            return;
        }
        var sw = Stopwatch.StartNew();
        try
        {
            var actual = Scoped(body, Target);
            sw.Stop();
            r = Compare(op, name, expected, actual, tolerances, sw.Elapsed.TotalMilliseconds);
        }
        catch (Exception e)
        {
            r = new ConformanceResult(op, name, 0, 0, false, $"target {Target} threw {e.GetType().Name}: {Flatten(e)}", sw.Elapsed.TotalMilliseconds);
        }
        Add(r);
    }

    /// <summary>A case that must throw on both devices (argument checks and ids out of range).</summary>
    private void Throws<TException>(string op, string name, Action<Device> body) where TException : Exception
    {
        if (_filter is not null && !op.Contains(_filter, StringComparison.OrdinalIgnoreCase)) return;
        string Try(Device d)
        {
            try { using var s = TensorScope.Begin(); body(d); return "did not throw"; }
            catch (TException) { return ""; }
            catch (NotImplementedException) { return "skip"; }
            catch (Exception e) { return $"threw {e.GetType().Name} instead: {e.Message}"; }
        }
        var rr = Try(Reference);
        if (rr == "skip") { Add(new ConformanceResult(op, name, 0, 0, true, "reference lacks it", 0, Skipped: true)); return; }
        var tr = Try(Target);
        Add(new ConformanceResult(op, name, 0, 0, tr == "", tr == "" ? $"throws {typeof(TException).Name}" : $"target {tr}", 0));
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " <- " + Flatten(e.InnerException);

    private void Add(ConformanceResult r)
    {
        _results.Add(r);
        _onResult?.Invoke(r);
    }

    private static float[][] Scoped(Func<Device, float[][]> body, Device d)
    {
        using var scope = TensorScope.Begin();
        return body(d);
    }

    private static ConformanceResult Compare(string op, string name, float[][] e, float[][] a, Tolerance[] tols, double ms)
    {
        if (e.Length != a.Length) return new(op, name, 0, 0, false, $"{a.Length} outputs, expected {e.Length}", ms);
        double maxAbs = 0, maxRel = 0;
        string? first = null;
        for (int o = 0; o < e.Length; o++)
        {
            var tol = tols.Length == 0 ? Tolerance.F32 : tols[Math.Min(o, tols.Length - 1)];
            if (e[o].Length != a[o].Length) return new(op, name, 0, 0, false, $"output {o} has {a[o].Length} elements, expected {e[o].Length}", ms);
            for (int i = 0; i < e[o].Length; i++)
            {
                double x = e[o][i], y = a[o][i];
                if (double.IsNaN(x) && double.IsNaN(y)) continue;
                if (double.IsInfinity(x) && x == y) continue;
                double abs = Math.Abs(x - y);
                if (double.IsNaN(abs)) abs = double.PositiveInfinity;
                double rel = abs / Math.Max(Math.Abs(x), 1e-30);
                maxAbs = Math.Max(maxAbs, abs);
                if (Math.Abs(x) > tol.Abs) maxRel = Math.Max(maxRel, rel);
                if (abs > tol.Abs + tol.Rel * Math.Abs(x) && first is null)
                    first = $"output {o}[{i}]: expected {x:R}, got {y:R} (tol abs {tol.Abs:E1} rel {tol.Rel:E1})";
            }
        }
        return new(op, name, maxAbs, maxRel, first is null, first ?? "", ms);
    }

    // ---- inputs: generated on the CPU, converted there, then moved, so both devices see identical values ----

    /// <summary>Uniform [lo, hi) values, deterministic in seed.</summary>
    private static Tensor In(Device d, int[] shape, ulong seed, DType dt = DType.F32, double lo = -1, double hi = 1)
    {
        var t = Ops.RandomUniform(shape, seed, lo, hi, dt, Device.Cpu);
        return Move(t, d);
    }

    private static Tensor FromValues(Device d, float[] values, int[] shape, DType dt = DType.F32) =>
        Move(Tensor.FromArray(values, shape, Device.Cpu, dt), d);

    private static Tensor Ints(Device d, int[] values, int[] shape) => Move(Tensor.FromArray(values, shape, Device.Cpu), d);

    private static Tensor Move(Tensor cpu, Device d)
    {
        if (d.IsCpu) return cpu;
        using (cpu) return cpu.To(d);
    }

    private static float[][] Out(params Tensor[] ts) => ts.Select(t => t.ToFloatArray()).ToArray();

    private static readonly DType[] FloatTypes = [DType.F32, DType.BF16];
}
