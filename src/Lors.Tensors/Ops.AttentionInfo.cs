// Which attention algorithm a device runs for given inputs, for profiles and logs ("mma", "gemm", "tiled",
// "naive" on CUDA; "cpu" on the CPU).
using Lors.Tensors.Cuda;

namespace Lors.Tensors;

public static partial class Ops
{
    /// <summary>The algorithm <see cref="Attention"/> picks for q [B, Hq, T, D] on q's device.</summary>
    public static string AttentionAlgorithm(Tensor q) =>
        q.Device.IsCpu ? "cpu" : Backends.Get(q.Device) is CudaBackend cb ? cb.AttentionAlgorithmName(q) : q.Device.ToString();
}
