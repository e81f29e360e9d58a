// The CUDA backend on any machine: device selection follows whether CUDA started (clear errors without it); every
// conformance case runs; in ILGPU's CPU simulator a few representative ops match the CPU. The full comparison of
// every op on a real GPU is the backend suite's CUDA subclass (Backend/CudaBackendSuiteTests) and `lors selftest`.
using Lors.Tensors;
using Lors.Conformance;
using Lors.Tensors.Cuda;
using Xunit.Abstractions;

namespace Lors.Tests.Cuda;

public sealed class CudaBackendTests(ITestOutputHelper output)
{
    [Fact]
    public void DeviceSelectionFollowsCudaAvailability()
    {
        CudaBackend.Register(); // registering twice must be harmless
        string? probe = CudaBackend.Probe();
        if (Backends.IsCudaAvailable)
        {
            Assert.False(string.IsNullOrWhiteSpace(probe), "CUDA is available but Probe() gave no description");
            Assert.Equal(Device.Cuda(), Device.Parse("auto"));
            using var t = Tensor.Zeros([2, 2], DType.F32, Device.Cuda());
            Assert.Equal(new float[4], t.ToFloatArray());
        }
        else
        {
            Assert.Null(probe);
            Assert.Equal(Device.Cpu, Device.Parse("auto"));
            var e = Assert.Throws<NotSupportedException>(() => Backends.Get(Device.Parse("cuda")));
            Assert.Contains("cuda", e.Message);
            Assert.Throws<NotSupportedException>(() => Tensor.Zeros([2, 2], DType.F32, Device.Cuda()));
        }
    }

    [Fact]
    public void EveryConformanceCaseRunsOnTheCpu()
    {
        // CPU against CPU proves no numerics (that is the CUDA suite's job); it proves every case builds its inputs,
        // runs without an exception and is deterministic, so `lors selftest` on the GPU fails only for real differences.
        var results = new BackendConformance(Device.Cpu).RunAll();
        Report(results);
        Assert.True(results.Count > 100, $"only {results.Count} cases ran");
        var failed = results.Where(r => !r.Passed || r.Skipped).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed));
    }

    [Fact]
    public void SimulatedCudaKernelsMatchCpu()
    {
        // ILGPU's CPU accelerator runs the same kernels (not cuBLAS) slowly; a few representative ops keep this short.
        CudaBackend.SimulatorEnabled = true;
        var device = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(device, out _), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        foreach (var op in new[] { "Copy", "Binary", "ArgMax", "MatMul", "Random" })
        {
            var results = new BackendConformance(device, filter: op).RunAll();
            Report(results);
            var failed = results.Where(r => !r.Passed).ToList();
            Assert.True(failed.Count == 0, string.Join("\n", failed));
        }
    }

    [Fact]
    public void AllocatorRoundsAndReuses()
    {
        Assert.Equal(512, CudaBackend.RoundAllocation(1));
        Assert.Equal(1024, CudaBackend.RoundAllocation(513));
        Assert.Equal(2L << 20, CudaBackend.RoundAllocation((1L << 20) + 1));
        CudaBackend.SimulatorEnabled = true;
        var device = Device.Cuda(CudaBackend.SimulatorIndex);
        var b = (CudaBackend)Backends.Get(device);
        long before = b.Memory.CurrentBytes, reserved = b.ReservedBytes;
        using (var t = Tensor.Empty([1000], DType.F32, device)) Assert.Equal(before + 4096, b.Memory.CurrentBytes);
        Assert.Equal(before, b.Memory.CurrentBytes);
        using (var t = Tensor.Empty([1000], DType.F32, device)) Assert.True(b.ReservedBytes <= reserved + 4096);
        long reservedAfter = b.ReservedBytes;
        using (var t = Tensor.Empty([1024], DType.F32, device)) Assert.Equal(reservedAfter, b.ReservedBytes); // same 4 KiB class: reused
    }

    private void Report(IReadOnlyList<ConformanceResult> results)
    {
        foreach (var r in results.Where(r => !r.Passed || r.Skipped)) output.WriteLine(r.ToString());
        output.WriteLine($"{results.Count} cases, {results.Count(r => !r.Passed)} failed, {results.Count(r => r.Skipped)} skipped");
    }
}
