// Out of device memory on the CUDA backend (the ILGPU simulator with an allocator limit standing in for a full GPU):
// the error names the bytes asked and the bytes in use, and the backend keeps working after it.
using Lors.Tensors;
using Lors.Tensors.Cuda;

namespace Lors.Tests.Cuda;

/// <summary>The limit applies to the shared simulator device, so this runs alone, after the parallel tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CudaLimitCollection
{
    public const string Name = "CUDA allocator limit";
}

[Collection(CudaLimitCollection.Name)]
public sealed class OutOfMemoryTests
{
    [Fact]
    public void OutOfMemoryNamesTheBytesAndTheBackendGoesOn()
    {
        CudaBackend.SimulatorEnabled = true;
        var device = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(device, out var be), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        var cuda = (CudaBackend)be!;
        using var held = Tensor.Zeros([1 << 18], DType.F32, device); // 1 MiB in use when the big request fails
        cuda.MemoryLimitBytes = cuda.ReservedBytes + (4L << 20);
        try
        {
            var e = Assert.Throws<OutOfMemoryException>(() => Tensor.Empty([64 << 20], DType.F32, device));
            Assert.Contains("asked for 256.0 MiB", e.Message);
            Assert.Matches(@"in use [0-9.]+ (KiB|MiB)", e.Message); // at least the 1 MiB held
            Assert.True(cuda.Memory.CurrentBytes >= 1 << 20);
            Assert.Contains("limit", e.Message);
            // The process goes on: memory that fits is still handed out and kernels still run.
            using var x = Tensor.FromArray(new float[] { 1, 2, 3 }, [3], device);
            using var y = Ops.Add(x, x);
            Assert.Equal(new float[] { 2, 4, 6 }, y.ToFloatArray());
        }
        finally
        {
            cuda.MemoryLimitBytes = long.MaxValue;
        }
    }
}
