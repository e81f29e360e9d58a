// The same backend suite as the CPU's (BackendSuite) on CUDA device 0: every test skips, with the reason, on a machine
// without CUDA. F64 is CPU-only, so the float dtypes are F32, BF16 and F16.
using Lors.Tensors;

namespace Lors.Tests.Backend;

public sealed class CudaBackendSuiteTests : BackendSuite, ICudaSuite
{
    protected override Device Device => Device.Cuda();

    protected override DType[] FloatTypes => [DType.F32, DType.BF16, DType.F16];
}
