// The tensor-core attention without a GPU: the emulated m16n8k16 step against a plain matrix product (fragments
// placed by the PTX ISA layout, written out independently here), and the whole mma forward / backward kernels
// (tiling, causal skip and mask, online softmax, fragment reuse) on ILGPU's CPU accelerator against the CPU backend.
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using Lors.Tensors;
using Lors.Tensors.Cuda;
using Lors.Tensors.Cuda.Kernels;
using Xunit.Abstractions;
using Device = Lors.Tensors.Device;

namespace Lors.Tests.Cuda;

public sealed class AttentionMmaTests(ITestOutputHelper output)
{
    // One warp: lane (g = lane / 4, t = lane % 4) packs its A, B registers from row-major a [16 x 16] and b [16 x 8]
    // (as 16-bit bit patterns in ints), runs the step on c [16 x 8] and writes its D entries back.
    private static void MmaKernel(ArrayView<int> a, ArrayView<int> b, ArrayView<float> c, ArrayView<float> d, int f16)
    {
        int lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3;
        var acc = new Frag { X = c[g * 8 + 2 * t], Y = c[g * 8 + 2 * t + 1], Z = c[(g + 8) * 8 + 2 * t], W = c[(g + 8) * 8 + 2 * t + 1] };
        uint a0 = A(a, g, 2 * t), a1 = A(a, g + 8, 2 * t), a2 = A(a, g, 2 * t + 8), a3 = A(a, g + 8, 2 * t + 8);
        uint b0 = B(b, 2 * t, g), b1 = B(b, 2 * t + 8, g);
        var sc = SharedMemory.Allocate<uint>(MmaEmulation.ScratchWords);
        var r = f16 != 0 ? default(EmuMmaF16).WithScratch(sc).Mma(acc, a0, a1, a2, a3, b0, b1) : default(EmuMmaBf16).WithScratch(sc).Mma(acc, a0, a1, a2, a3, b0, b1);
        d[g * 8 + 2 * t] = r.X; d[g * 8 + 2 * t + 1] = r.Y; d[(g + 8) * 8 + 2 * t] = r.Z; d[(g + 8) * 8 + 2 * t + 1] = r.W;
    }

    // A's elements (r, k), (r, k + 1) and B's (k, n), (k + 1, n) packed low half first
    private static uint A(ArrayView<int> a, int r, int k) => (uint)a[r * 16 + k] | ((uint)a[r * 16 + k + 1] << 16);
    private static uint B(ArrayView<int> b, int k, int n) => (uint)b[k * 8 + n] | ((uint)b[(k + 1) * 8 + n] << 16);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EmulatedMmaMatchesMatrixProduct(bool f16)
    {
        var rng = new Random(5);
        var dt = f16 ? DType.F16 : DType.BF16;
        // 16-bit inputs drawn in float, rounded by the tensor library's own conversion
        float[] af = Enumerable.Range(0, 256).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        float[] bf = Enumerable.Range(0, 128).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        float[] cf = Enumerable.Range(0, 128).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        using var at = Tensor.FromArray(af, [256]).To(dt);
        using var bt = Tensor.FromArray(bf, [128]).To(dt);
        float[] ar = at.ToFloatArray(), br = bt.ToFloatArray();
        int[] abits = af.Select(x => (int)Bits(x, f16)).ToArray(), bbits = bf.Select(x => (int)Bits(x, f16)).ToArray();
        for (int i = 0; i < 256; i++) Assert.Equal(ar[i], f16 ? Elem.F16ToFloat((ushort)abits[i]) : Elem.Bf16ToFloat((ushort)abits[i]));

        using var ctx = Context.Create(b => b.CPU(CPUDeviceKind.Nvidia));
        using var acc = ctx.CreateCPUAccelerator(0);
        var kernel = acc.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int>(MmaKernel);
        using var ab = acc.Allocate1D(abits); using var bb = acc.Allocate1D(bbits); using var cb = acc.Allocate1D(cf);
        using var db = acc.Allocate1D<float>(128);
        kernel(new KernelConfig(1, 32), ab.View, bb.View, cb.View, db.View, f16 ? 1 : 0);
        acc.Synchronize();
        var d = db.GetAsArray1D();
        for (int r = 0; r < 16; r++)
            for (int n = 0; n < 8; n++)
            {
                double want = cf[r * 8 + n];
                for (int k = 0; k < 16; k++) want += (double)ar[r * 16 + k] * br[k * 8 + n];
                Assert.True(Math.Abs(d[r * 8 + n] - want) <= 1e-5 * (1 + Math.Abs(want)), $"D[{r},{n}] = {d[r * 8 + n]}, expected {want}");
            }
    }

    private static ushort Bits(float x, bool f16) => f16 ? Elem.FloatToF16(x) : Elem.FloatToBf16(x);

    // The simulator pays a thread switch per lane at each emulated step: the fast set stays small (CI); the slow set
    // adds F16, D = 128, GQA 4 over several query tiles and a batch of 2.
    public static TheoryData<int, int, int, int, int, int, string> Shapes => new()
    {
        // b, hq, hkv, t, s, d, dtype
        { 1, 1, 1, 1, 1, 64, "bf16" },
        { 1, 2, 2, 1, 9, 64, "bf16" },
        { 1, 4, 1, 17, 40, 64, "bf16" },
        { 1, 2, 1, 69, 100, 32, "bf16" },
    };

    public static TheoryData<int, int, int, int, int, int, string> SlowShapes => new()
    {
        { 1, 2, 2, 17, 17, 64, "bf16" },
        { 1, 4, 1, 17, 40, 64, "f16" },
        { 2, 4, 1, 69, 69, 64, "bf16" },
        { 1, 2, 2, 33, 70, 128, "bf16" },
        { 1, 8, 2, 20, 20, 48, "f16" },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MmaAttentionMatchesCpu(int b, int hq, int hkv, int t, int s, int d, string dtype) => Compare(b, hq, hkv, t, s, d, dtype);

    [Theory]
    [Trait("Category", "Slow")]
    [MemberData(nameof(SlowShapes))]
    public void MmaAttentionMatchesCpuMoreShapes(int b, int hq, int hkv, int t, int s, int d, string dtype) => Compare(b, hq, hkv, t, s, d, dtype);

    private void Compare(int b, int hq, int hkv, int t, int s, int d, string dtype)
    {
        CudaBackend.SimulatorEnabled = true;
        var dev = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(dev, out var be), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        var cb = (CudaBackend)be!;
        var dt = dtype == "f16" ? DType.F16 : DType.BF16;
        float scale = 1f / MathF.Sqrt(d);
        using var q = Ops.RandomUniform([b, hq, t, d], 41, -2, 2, dt, Device.Cpu);
        using var k = Ops.RandomUniform([b, hkv, s, d], 42, -2, 2, dt, Device.Cpu);
        using var v = Ops.RandomUniform([b, hkv, s, d], 43, -1, 1, dt, Device.Cpu);
        using var go = Ops.RandomUniform([b, hq, t, d], 44, -1, 1, dt, Device.Cpu);
        using var q32 = q.To(DType.F32); using var k32 = k.To(DType.F32); using var v32 = v.To(DType.F32); using var go32 = go.To(DType.F32);
        var (ro, rl) = Ops.Attention(q32, k32, v32, scale);
        var (rgq, rgk, rgv) = Ops.AttentionBackward(q32, k32, v32, ro, rl, go32, scale);

        using var qd = q.To(dev); using var kd = k.To(dev); using var vd = v.To(dev); using var god = go.To(dev);
        using var o = Tensor.Empty([b, hq, t, d], dt, dev);
        using var l = Tensor.Empty([b, hq, t], DType.F32, dev);
        cb.Attention(qd, kd, vd, scale, o, l, CudaBackend.AttnAlgo.Mma);
        using var gq = Tensor.Empty([b, hq, t, d], dt, dev);
        using var gk = Tensor.Empty([b, hkv, s, d], dt, dev);
        using var gv = Tensor.Empty([b, hkv, s, d], dt, dev);
        cb.AttentionBackward(qd, kd, vd, o, l, god, scale, gq, gk, gv, CudaBackend.AttnAlgo.Mma);

        // P and dS are rounded to 16 bits before their products (as in FlashAttention), hence the 16-bit tolerances
        Check("out", ro, o, 2e-2, 2e-2);
        Check("lse", rl, l, 1e-3, 1e-3);
        Check("gq", rgq, gq, 6e-2, 3e-2);
        Check("gk", rgk, gk, 6e-2, 3e-2);
        Check("gv", rgv, gv, 6e-2, 3e-2);
        foreach (var x in new[] { ro, rl, rgq, rgk, rgv }) x.Dispose();
    }

    [Fact]
    public void MmaIsNotTheSimulatorsAutomaticChoiceButCanBeForced()
    {
        CudaBackend.SimulatorEnabled = true;
        var dev = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(dev, out var be), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        var cb = (CudaBackend)be!;
        Assert.NotEqual(CudaBackend.AttnAlgo.Mma, cb.PickAttention(64, DType.BF16));
        Assert.True(CudaBackend.MmaAttentionCovers(DType.BF16, 128));
        Assert.True(CudaBackend.MmaAttentionCovers(DType.F16, 64));
        Assert.False(CudaBackend.MmaAttentionCovers(DType.F32, 64));
        Assert.False(CudaBackend.MmaAttentionCovers(DType.BF16, 72));
        Assert.False(CudaBackend.MmaAttentionCovers(DType.BF16, 256));
        using var q = Tensor.Empty([1, 1, 4, 72], DType.BF16, dev);
        using var o = Tensor.Empty([1, 1, 4, 72], DType.BF16, dev);
        using var l = Tensor.Empty([1, 1, 4], DType.F32, dev);
        var e = Assert.Throws<NotSupportedException>(() => cb.Attention(q, q, q, 0.1f, o, l, CudaBackend.AttnAlgo.Mma));
        Assert.Contains("72", e.Message);
        // a view at an odd element cannot be read as 32-bit pairs: refused when forced, and never picked automatically
        using var big = Tensor.Empty([1 + 4 * 64], DType.BF16, dev);
        using var nar = big.Narrow(0, 1, 4 * 64);
        using var odd = nar.Reshape(1, 1, 4, 64);
        using var q64 = Tensor.Zeros([1, 1, 4, 64], DType.BF16, dev);
        using var o64 = Tensor.Empty([1, 1, 4, 64], DType.BF16, dev);
        e = Assert.Throws<NotSupportedException>(() => cb.Attention(odd, q64, q64, 0.1f, o64, l, CudaBackend.AttnAlgo.Mma));
        Assert.Contains("even element", e.Message);
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
