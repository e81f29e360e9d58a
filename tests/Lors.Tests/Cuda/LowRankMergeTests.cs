// The fused LoRS merge kernel on ILGPU's CPU simulator (every case of the conformance suite, against the CPU backend)
// and its PTX: the 16-byte path must compile to vector loads and stores, or the kernel reads W at a fraction of the rate.
using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using Lors.Tensors;
using Lors.Conformance;
using Lors.Tensors.Cuda;
using Xunit.Abstractions;

namespace Lors.Tests.Cuda;

public sealed class LowRankMergeTests(ITestOutputHelper output)
{
    [Fact]
    public void SimulatedKernelMatchesCpu()
    {
        CudaBackend.SimulatorEnabled = true;
        var device = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(device, out _), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        var results = new BackendConformance(device, filter: "MaskedLowRankMerge").RunAll();
        foreach (var r in results) output.WriteLine(r.ToString());
        Assert.True(results.Count >= 9, $"only {results.Count} cases ran");
        var failed = results.Where(r => !r.Passed || r.Skipped).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed));
    }

    [Fact]
    public void SixteenBytePathCompilesToVectorLoadsAndStores()
    {
        using var ctx = Context.Create(b => b.Cuda().EnableAlgorithms());
        var arch = new CudaArchitecture(8, 0);
        var backend = new PTXBackend(ctx, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_80, null!);
        var kernel = typeof(Tensor).Assembly.GetType("Lors.Tensors.Cuda.Kernels.LowRankMergeKernels")!
            .GetMethod("MaskedLowRankMerge", BindingFlags.Public | BindingFlags.Static)!;
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(kernel), default);
        string ptx = compiled.PTXAssembly;
        // ILGPU addresses views generically: ld.v4.b32 is the 16-byte vector load (ld.global.v4 would do as well).
        Assert.Matches(@"ld(\.global)?\.v4\.b32", ptx);
        Assert.Matches(@"st(\.global)?\.v4\.b32", ptx);
    }
}
