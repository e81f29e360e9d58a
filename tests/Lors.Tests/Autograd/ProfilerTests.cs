// The profile names the attention kernel that ran (AttentionFn[cpu], AttentionFn[mma], AttentionFn[gemm], ...), so a
// head dim the tensor-core kernel does not cover shows up as a fallback in `--profile`.
using Lors.Autograd;
using Lors.Tensors;

namespace Lors.Tests.Autograd;

[Collection("Profiler")] // the profiler is process-wide
public sealed class ProfilerTests
{
    [Fact]
    public void ProfileNamesTheAttentionAlgorithm()
    {
        var q = new Variable(Ops.RandomUniform([1, 2, 5, 8], 1, -1, 1, DType.F32, Device.Cpu), true);
        var k = new Variable(Ops.RandomUniform([1, 1, 5, 8], 2, -1, 1, DType.F32, Device.Cpu), true);
        var v = new Variable(Ops.RandomUniform([1, 1, 5, 8], 3, -1, 1, DType.F32, Device.Cpu), true);
        Profiler.Start();
        string table;
        try
        {
            F.Sum(F.Attention(q, k, v, 0.3f)).Backward();
        }
        finally { table = Profiler.Stop(); }
        Assert.Contains("AttentionFn[cpu].forward", table);
        Assert.Contains("AttentionFn[cpu].backward", table);
        Assert.Equal("cpu", Ops.AttentionAlgorithm(q.Data));
    }
}
