// The fused RoPE + head-permute kernel on ILGPU's CPU simulator, every conformance case against the CPU backend.
using Lors.Tensors;
using Lors.Conformance;
using Lors.Tensors.Cuda;
using Xunit.Abstractions;

namespace Lors.Tests.Cuda;

public sealed class RopeSwapSimulatorTests(ITestOutputHelper output)
{
    [Fact]
    public void SimulatedKernelMatchesCpu()
    {
        CudaBackend.SimulatorEnabled = true;
        var device = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(device, out _), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        var results = new BackendConformance(device, filter: "RopeSwap").RunAll();
        foreach (var r in results) output.WriteLine(r.ToString());
        Assert.True(results.Count >= 8, $"only {results.Count} cases ran");
        var failed = results.Where(r => !r.Passed || r.Skipped).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed));
    }
}
