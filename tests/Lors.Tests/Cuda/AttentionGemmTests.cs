// The GEMM-based CUDA attention path (score GEMMs + masked softmax row kernels) against the CPU backend, forced in
// ILGPU's CPU simulator where the GEMMs run on the tiled ILGPU fallback (no cuBLAS there): forward (output, lse) and
// backward (gq, gk, gv), F32 and BF16, GQA, S > T, batched groups and row-chunked groups (tiny scratch budget).
// On a machine with a CUDA device, the same comparison runs once more through cuBLAS.
using Lors.Tensors;
using Lors.Tensors.Cuda;
using Xunit.Abstractions;

namespace Lors.Tests.Cuda;

public sealed class AttentionGemmTests(ITestOutputHelper output)
{
    public static TheoryData<int, int, int, int, int, int, string, long> Shapes => new()
    {
        // b, hq, hkv, t, s, d, dtype, scratch budget in bytes (0: default)
        { 1, 2, 1, 1, 1, 8, "f32", 0 },
        { 1, 2, 2, 5, 9, 24, "f32", 0 },
        { 2, 4, 2, 17, 17, 16, "f32", 0 },
        { 1, 2, 1, 33, 40, 64, "f32", 0 },
        { 1, 4, 1, 32, 36, 32, "bf16", 0 },
        { 1, 3, 1, 7, 20, 8, "bf16", 0 },
        // tiny budgets: a few groups per chunk, then row chunks inside a group (dK/dV accumulated over chunks)
        { 2, 4, 2, 12, 16, 16, "f32", 2 * 12 * 16 * 8 * 2 },
        { 2, 4, 2, 12, 16, 16, "f32", 5 * 16 * 8 },
        { 2, 4, 2, 12, 19, 16, "bf16", 7 * 19 * 12 },
        { 1, 2, 1, 30, 30, 64, "bf16", 30 * 12 * 8 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void GemmAttentionMatchesCpuInSimulator(int b, int hq, int hkv, int t, int s, int d, string dtype, long budget)
    {
        CudaBackend.SimulatorEnabled = true;
        var dev = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(dev, out var be), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        Compare((CudaBackend)be!, dev, b, hq, hkv, t, s, d, dtype == "bf16" ? DType.BF16 : DType.F32, budget);
    }

    [Fact]
    public void PlanRespectsBudget()
    {
        long saved = CudaBackend.AttentionScratchBytes;
        try
        {
            CudaBackend.AttentionScratchBytes = 256L << 20;
            // TinyLlama forward (bf16: 6 bytes per score) fits one 8-head group of 2048 rows; backward needs row chunks
            Assert.Equal((1, 16384), CudaBackend.AttnGemmPlan(4, 16384, 2048L * 6));
            var (nz, rc) = CudaBackend.AttnGemmPlan(4, 16384, 2048L * 12);
            Assert.Equal(1, nz);
            Assert.True(rc < 16384 && rc * 2048L * 12 <= 256L << 20 && rc % 256 == 0);
            Assert.Equal((4, 100), CudaBackend.AttnGemmPlan(4, 100, 1000));
        }
        finally { CudaBackend.AttentionScratchBytes = saved; }
    }

    [CudaFact(RequiresCuBlas = true)]
    public void CublasAttentionMatchesCpu()
    {
        var dev = Device.Cuda();
        Assert.True(Backends.TryGet(dev, out var be));
        var cb = (CudaBackend)be!;
        Assert.True(cb.UsesCuBlas);
        Compare(cb, dev, 2, 8, 2, 77, 100, 64, DType.BF16, 0);
        Compare(cb, dev, 1, 4, 1, 65, 65, 128, DType.F32, 0);
        Compare(cb, dev, 1, 4, 2, 300, 300, 64, DType.BF16, 64 * 300 * 12); // row-chunked backward
    }

    private void Compare(CudaBackend be, Device dev, int b, int hq, int hkv, int t, int s, int d, DType dt, long budget)
    {
        long saved = CudaBackend.AttentionScratchBytes;
        if (budget > 0) CudaBackend.AttentionScratchBytes = budget;
        try
        {
            float scale = 1f / MathF.Sqrt(d);
            using var q = Ops.RandomUniform([b, hq, t, d], 31, -2, 2, dt, Device.Cpu);
            using var k = Ops.RandomUniform([b, hkv, s, d], 32, -2, 2, dt, Device.Cpu);
            using var v = Ops.RandomUniform([b, hkv, s, d], 33, -1, 1, dt, Device.Cpu);
            using var go = Ops.RandomUniform([b, hq, t, d], 34, -1, 1, dt, Device.Cpu);
            using var q32 = q.To(DType.F32); using var k32 = k.To(DType.F32); using var v32 = v.To(DType.F32); using var go32 = go.To(DType.F32);
            var (ro, rl) = Ops.Attention(q32, k32, v32, scale);
            var (rgq, rgk, rgv) = Ops.AttentionBackward(q32, k32, v32, ro, rl, go32, scale);

            using var qd = q.To(dev); using var kd = k.To(dev); using var vd = v.To(dev); using var god = go.To(dev);
            using var o = Tensor.Empty([b, hq, t, d], dt, dev);
            using var l = Tensor.Empty([b, hq, t], DType.F32, dev);
            be.Attention(qd, kd, vd, scale, o, l, CudaBackend.AttnAlgo.Gemm);
            using var gq = Tensor.Empty([b, hq, t, d], dt, dev);
            using var gk = Tensor.Empty([b, hkv, s, d], dt, dev);
            using var gv = Tensor.Empty([b, hkv, s, d], dt, dev);
            be.AttentionBackward(qd, kd, vd, o, l, god, scale, gq, gk, gv, CudaBackend.AttnAlgo.Gemm);

            bool bf = dt == DType.BF16;
            // BF16 also rounds P and dS to bf16 before the second GEMMs
            Check("out", ro, o, bf ? 2e-2 : 2e-5, bf ? 2e-2 : 1e-4);
            Check("lse", rl, l, bf ? 1e-3 : 2e-5, bf ? 1e-3 : 1e-5);
            Check("gq", rgq, gq, bf ? 6e-2 : 5e-5, bf ? 3e-2 : 2e-4);
            Check("gk", rgk, gk, bf ? 6e-2 : 5e-5, bf ? 3e-2 : 2e-4);
            Check("gv", rgv, gv, bf ? 6e-2 : 5e-5, bf ? 3e-2 : 2e-4);
            foreach (var x in new[] { ro, rl, rgq, rgk, rgv }) x.Dispose();
        }
        finally { CudaBackend.AttentionScratchBytes = saved; }
    }

    private void Check(string name, Tensor expected, Tensor actual, double atol, double rtol)
    {
        var e = expected.ToFloatArray();
        var a = actual.ToFloatArray();
        Assert.Equal(e.Length, a.Length);
        double worst = 0; int at = -1; double maxErr = 0;
        for (int i = 0; i < e.Length; i++)
        {
            double err = Math.Abs(e[i] - a[i]), lim = atol + rtol * Math.Abs(e[i]);
            if (!(err <= maxErr)) maxErr = err;
            if (!(err <= lim) && (at < 0 || err / lim > worst)) { worst = err / lim; at = i; }
        }
        output.WriteLine($"{name}: {e.Length} values, max abs err {maxErr:g3}" + (at >= 0 ? $", worst at {at}: expected {e[at]}, got {a[at]}" : " ok"));
        Assert.True(at < 0, $"{name}: element {at}: expected {(at >= 0 ? e[at] : 0)}, got {(at >= 0 ? a[at] : 0)}");
    }
}
