// [CudaFact]: a fact that runs only where a CUDA device is available (the GPU machine) and is skipped, with the
// reason, elsewhere; RequiresCuBlas also skips when the CUDA backend runs without cuBLAS (library not found).
using Lors.Tensors;
using Lors.Tensors.Cuda;

namespace Lors.Tests;

public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!Backends.IsCudaAvailable) Skip = "no CUDA device on this machine";
    }

    /// <summary>Skip unless device 0's backend loaded cuBLAS (the GEMM-based paths need it).</summary>
    public bool RequiresCuBlas
    {
        get => _requiresCuBlas;
        set
        {
            _requiresCuBlas = value;
            if (value && Skip is null && !(Backends.TryGet(Device.Cuda(), out var b) && b is CudaBackend { UsesCuBlas: true }))
                Skip = "the CUDA backend runs without cuBLAS here (libcublas not found)";
        }
    }

    private bool _requiresCuBlas;
}
