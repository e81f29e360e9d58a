// The backend suite on the CUDA backend's kernels in ILGPU's CPU simulator (no cuBLAS: the tiled ILGPU GEMM runs).
// It takes minutes one simulated thread at a time, so it is Slow; CudaBackendTests keeps a fast subset in CI.
using Lors.Tensors;
using Lors.Tensors.Cuda;

namespace Lors.Tests.Backend;

[Trait("Category", "Slow")]
public sealed class SimulatedCudaSuiteTests : BackendSuite
{
    static SimulatedCudaSuiteTests() => CudaBackend.SimulatorEnabled = true;

    protected override Device Device => Device.Cuda(CudaBackend.SimulatorIndex);

    protected override DType[] FloatTypes => [DType.F32, DType.BF16, DType.F16];
}
