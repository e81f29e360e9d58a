// [CudaFact]: a fact that runs only where a CUDA device is available (the GPU machine), skipped elsewhere.
using Lors.Tensors;

namespace Lors.Tests.Cuda;

public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!Backends.IsCudaAvailable) Skip = "no CUDA device";
    }
}
