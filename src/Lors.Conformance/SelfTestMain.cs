// Entry point for `lors selftest` and for running the CUDA conformance on the GPU machine from any console:
//   SelfTestMain.RunMain(["--device", "cuda", "--bench"]). Prints a table; the exit code is 1 when any case fails.
using Lors.Tensors.Cuda;
using Lors.Tensors;

namespace Lors.Conformance;

public static class SelfTestMain
{
    /// <summary>
    /// Arguments: --device cpu|cuda|cuda:N (default cuda), --reference cpu, --filter TEXT (ops containing TEXT),
    /// --bench (also run the micro-benchmarks), --bench-only, --quiet (print failures only), --simulator
    /// (allow the ILGPU CPU simulator at cuda:100 and up).
    /// </summary>
    public static int RunMain(string[] args)
    {
        string device = "cuda", reference = "cpu";
        string? filter = null;
        bool bench = false, benchOnly = false, quiet = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--device": device = args[++i]; break;
                case "--reference": reference = args[++i]; break;
                case "--filter": filter = args[++i]; break;
                case "--bench": bench = true; break;
                case "--bench-only": bench = benchOnly = true; break;
                case "--quiet": quiet = true; break;
                case "--simulator": CudaBackend.SimulatorEnabled = true; break;
                default: Console.Error.WriteLine($"selftest: unknown argument '{args[i]}'"); return 2;
            }
        }
        Device target, refDevice;
        try { target = Device.Parse(device); refDevice = Device.Parse(reference); }
        catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 2; }
        if (!Backends.TryGet(target, out var backend) || backend is null)
        {
            Console.Error.WriteLine($"selftest: device {target} is not available" + (target.IsCuda ? $": {CudaBackend.FailureReason(target.Index) ?? "no CUDA"}" : ""));
            return 3;
        }
        Console.WriteLine($"target:    {backend.Description}");
        Console.WriteLine($"reference: {Backends.Get(refDevice).Description}");
        int failed = 0;
        if (!benchOnly)
        {
            var run = new BackendConformance(target, refDevice, filter, r => { if (!quiet || (!r.Passed && !r.Skipped)) Console.WriteLine(r); });
            var results = run.RunAll();
            failed = results.Count(r => !r.Passed);
            int skipped = results.Count(r => r.Skipped);
            Console.WriteLine();
            Console.WriteLine($"conformance: {results.Count} cases, {results.Count - failed - skipped} passed, {failed} failed, {skipped} skipped (reference lacks the op)");
            foreach (var g in results.Where(r => !r.Passed).GroupBy(r => r.Op))
                Console.WriteLine($"  FAILED {g.Key}: {string.Join("; ", g.Select(r => r.Case))}");
        }
        if (bench)
        {
            Console.WriteLine();
            Console.WriteLine($"benchmarks on {target}:");
            Benchmark.Run(target, small: target.IsCpu || target.Index >= CudaBackend.SimulatorIndex, onResult: r => Console.WriteLine(r));
        }
        Console.WriteLine($"memory: {backend.Memory}" + (backend is CudaBackend cb ? $", reserved {MemoryStats.Format(cb.ReservedBytes)}" : ""));
        return failed == 0 ? 0 : 1;
    }
}
