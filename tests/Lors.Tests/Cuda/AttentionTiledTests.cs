// The tiled (FlashAttention-2 style) CUDA attention kernels in ILGPU's CPU simulator against the CPU backend:
// forward (output, lse) and backward (gq, gk, gv), F32 and BF16, GQA, T and S off the tile sizes, S > T.
using Lors.Tensors;
using Lors.Tensors.Cuda;
using Xunit.Abstractions;

namespace Lors.Tests.Cuda;

public sealed class AttentionTiledTests(ITestOutputHelper output)
{
    public static TheoryData<int, int, int, int, int, int, string> Shapes => new()
    {
        // b, hq, hkv, t, s, d, dtype
        { 1, 2, 1, 1, 1, 16, "f32" },
        { 1, 2, 2, 5, 9, 24, "f32" },
        { 2, 2, 1, 70, 70, 32, "f32" },
        { 1, 2, 1, 33, 100, 64, "f32" },
        { 1, 4, 1, 65, 65, 40, "bf16" },
        { 1, 2, 1, 17, 40, 128, "bf16" },
        { 1, 1, 1, 66, 66, 8, "f32" },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TiledAttentionMatchesCpu(int b, int hq, int hkv, int t, int s, int d, string dtype)
    {
        CudaBackend.SimulatorEnabled = true;
        var dev = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(dev, out _), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        Assert.False(CudaBackend.NaiveAttention);
        var dt = dtype == "bf16" ? DType.BF16 : DType.F32;
        float scale = 1f / MathF.Sqrt(d);
        // inputs made on the CPU in the storage dtype, then copied: both sides see identical values
        using var q = Ops.RandomUniform([b, hq, t, d], 11, -2, 2, dt, Device.Cpu);
        using var k = Ops.RandomUniform([b, hkv, s, d], 12, -2, 2, dt, Device.Cpu);
        using var v = Ops.RandomUniform([b, hkv, s, d], 13, -1, 1, dt, Device.Cpu);
        using var go = Ops.RandomUniform([b, hq, t, d], 14, -1, 1, dt, Device.Cpu);
        // the reference runs in F32 on the (rounded) inputs
        using var q32 = q.To(DType.F32); using var k32 = k.To(DType.F32); using var v32 = v.To(DType.F32); using var go32 = go.To(DType.F32);
        var (ro, rl) = Ops.Attention(q32, k32, v32, scale);
        var (rgq, rgk, rgv) = Ops.AttentionBackward(q32, k32, v32, ro, rl, go32, scale);

        using var qd = q.To(dev); using var kd = k.To(dev); using var vd = v.To(dev); using var god = go.To(dev);
        var (o, l) = Ops.Attention(qd, kd, vd, scale);
        var (gq, gk, gv) = Ops.AttentionBackward(qd, kd, vd, o, l, god, scale);

        bool bf = dt == DType.BF16;
        Check("out", ro, o, bf ? 1e-2 : 2e-5, bf ? 1e-2 : 1e-4);
        Check("lse", rl, l, bf ? 1e-3 : 2e-5, bf ? 1e-3 : 1e-5);
        Check("gq", rgq, gq, bf ? 3e-2 : 5e-5, bf ? 2e-2 : 2e-4);
        Check("gk", rgk, gk, bf ? 3e-2 : 5e-5, bf ? 2e-2 : 2e-4);
        Check("gv", rgv, gv, bf ? 3e-2 : 5e-5, bf ? 2e-2 : 2e-4);
        foreach (var x in new[] { ro, rl, rgq, rgk, rgv, o, l, gq, gk, gv }) x.Dispose();
    }

    [Fact]
    public void TiledBackwardIsDeterministic()
    {
        CudaBackend.SimulatorEnabled = true;
        var dev = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(dev, out _), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        using var q = Ops.RandomUniform([1, 2, 40, 16], 21, -2, 2, DType.F32, dev);
        using var k = Ops.RandomUniform([1, 1, 40, 16], 22, -2, 2, DType.F32, dev);
        using var v = Ops.RandomUniform([1, 1, 40, 16], 23, -1, 1, DType.F32, dev);
        using var go = Ops.RandomUniform([1, 2, 40, 16], 24, -1, 1, DType.F32, dev);
        var (o, l) = Ops.Attention(q, k, v, 0.25f);
        var first = Ops.AttentionBackward(q, k, v, o, l, go, 0.25f);
        var second = Ops.AttentionBackward(q, k, v, o, l, go, 0.25f);
        Assert.Equal(first.gk.ToFloatArray(), second.gk.ToFloatArray());
        Assert.Equal(first.gq.ToFloatArray(), second.gq.ToFloatArray());
        Assert.Equal(first.gv.ToFloatArray(), second.gv.ToFloatArray());
    }

    private void Check(string name, Tensor expected, Tensor actual, double atol, double rtol)
    {
        var e = expected.ToFloatArray();
        var a = actual.ToFloatArray();
        Assert.Equal(e.Length, a.Length);
        double worst = 0; int at = -1;
        for (int i = 0; i < e.Length; i++)
        {
            double err = Math.Abs(e[i] - a[i]), lim = atol + rtol * Math.Abs(e[i]);
            if (!(err <= lim) && (at < 0 || err / lim > worst)) { worst = err / lim; at = i; }
        }
        output.WriteLine($"{name}: {e.Length} values" + (at >= 0 ? $", worst at {at}: expected {e[at]}, got {a[at]}" : " ok"));
        Assert.True(at < 0, $"{name}: element {at}: expected {(at >= 0 ? e[at] : 0)}, got {(at >= 0 ? a[at] : 0)}");
    }
}
