// Entry point of the LoRS benchmarks: dispatches on the first argument to one subcommand per file.
// Add a subcommand by adding a case here and a class with a static Run(string[] args) beside it.
using BenchmarkDotNet.Running;

namespace Lors.Bench;

public static class Program
{
    public static int Main(string[] args)
    {
        string command = args.Length > 0 ? args[0] : "help";
        string[] rest = args.Skip(1).ToArray();
        switch (command)
        {
            case "gemm":
                return GemmBench.Run(rest);
            case "micro":
            case "--bdn":
                // BenchmarkDotNet takes over: e.g. `-- micro --filter *Gemm*`.
                BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest);
                return 0;
            default:
                Console.WriteLine("usage: Lors.Bench <command> [options]");
                Console.WriteLine("  gemm [--threads N] [--reps R] [--shape MxNxK] [--no-blas]\n   GFLOP/s of the CPU GEMM on the reference shapes (vs OpenBLAS when present)");
                Console.WriteLine("  micro [BenchmarkDotNet args]    BenchmarkDotNet micro-benchmarks (alias --bdn)");
                return command == "help" ? 0 : 1;
        }
    }

    /// <summary>Value of `--name V` in args, or the fallback.</summary>
    public static int IntOption(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
    }
}
