// Compressed 2:4 ops on the CPU backend (the reference): round trip bit for bit, the documented layout on a hand-made
// row, refusal naming the first bad group, and the merge on kept values against the dense fused merge, bit for bit.
using Lors.Tensors;
using Lors.Conformance;
using Lors.Tensors.Cuda;
using Xunit.Abstractions;

namespace Lors.Tests.Sparse;

public sealed class Sparse24OpsTests(ITestOutputHelper output)
{
    private static Tensor Matrix(int o, int i, ulong seed, DType dt) =>
        Tensor.FromArray(BackendConformance.Matrix24(o, i, seed), [o, i], Device.Cpu, dt);

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    [InlineData(DType.F64)]
    public void RoundTripIsExactAndHalvesTheValues(DType dt)
    {
        using var w = Matrix(13, 72, 1, dt);
        using var c = Ops.Compress24(w, "w");
        Assert.Equal([13, 36], c.Values.Shape);
        Assert.Equal([13, 9], c.Meta.Shape);
        using var back = Ops.Decompress24(c);
        // Bits equal except that a dropped -0 comes back as +0: compare bits after mapping -0 to +0.
        Assert.Equal(Canonical(w), Canonical(back));
        if (dt == DType.BF16) Assert.Equal(0.5625, (double)c.ByteCount / c.DenseByteCount, 6);
    }

    [Fact]
    public void LayoutMatchesTheDocumentedNibbles()
    {
        // Groups: kept (1, 3); kept (0, 2); one non-zero at 2 -> (0, 2) with a zero filler; empty -> (0, 1).
        float[] row = [0, 1, 0, 2, 3, 0, 4, 0, 0, 0, 5, 0, 0, 0, 0, 0];
        using var w = Tensor.FromArray(row, [1, 16]);
        using var c = Ops.Compress24(w);
        Assert.Equal([1f, 2f, 3f, 4f, 0f, 5f, 0f, 0f], c.Values.ToFloatArray());
        byte g0 = 1 | 3 << 2, g1 = 0 | 2 << 2, g2 = 0 | 2 << 2, g3 = 0 | 1 << 2;
        Assert.Equal([(byte)(g0 | g1 << 4), (byte)(g2 | g3 << 4)], c.Meta.ToByteArray());
    }

    [Fact]
    public void RefusesAGroupWithThreeNonZerosNamingTheFirst()
    {
        var v = BackendConformance.Matrix24(6, 32, 2);
        for (int p = 0; p < 3; p++) { v[4 * 32 + 16 + p] = 1; v[1 * 32 + 28 + p] = 2; }
        using var w = Tensor.FromArray(v, [6, 32]);
        var e = Assert.Throws<InvalidDataException>(() => Ops.Compress24(w, "model.layers.0.mlp.up_proj.weight"));
        output.WriteLine(e.Message);
        Assert.Contains("model.layers.0.mlp.up_proj.weight", e.Message);
        Assert.Contains("row 1, columns 28..31", e.Message);
        Assert.Contains("3 non-zeros", e.Message);
        using var odd = Tensor.Zeros([2, 12]);
        Assert.Contains("multiple of 8", Assert.Throws<ArgumentException>(() => Ops.Compress24(odd)).Message);
    }

    [Theory]
    [InlineData(DType.F32, 16)]
    [InlineData(DType.BF16, 16)]
    [InlineData(DType.BF16, 3)]
    [InlineData(DType.F16, 5)]
    [InlineData(DType.F64, 4)]
    public void MergeOnKeptValuesEqualsTheDenseMergeBitForBit(DType dt, int r)
    {
        int o = 21, i = 136;
        using var w = Matrix(o, i, 3, dt);
        var adt = dt == DType.F64 ? DType.F64 : DType.F32;
        using var a = Ops.RandomUniform([o, r], 4, -1, 1, adt, Device.Cpu);
        using var b = Ops.RandomUniform([r, i], 5, -1, 1, adt, Device.Cpu);
        using var expected = Ops.MaskedLowRankMerge(w, a, b, 0.61f);
        using var c = Ops.Compress24(w);
        using var dense = Ops.MaskedLowRankMerge24(c, a, b, 0.61f, dense: true);
        Assert.Equal(Canonical(expected), Canonical(dense));
        Ops.MaskedLowRankMerge24Into(c, a, b, 0.61f, c.Values);
        using var back = Ops.Decompress24(c);
        Assert.Equal(Canonical(expected), Canonical(back));
        Assert.NotEqual(Canonical(w), Canonical(back)); // the merge did something
    }

    [Fact]
    public void Linear24EqualsTheProductWithTheDecompressedWeight()
    {
        using var w = Matrix(19, 264, 6, DType.BF16);
        using var x = Ops.RandomUniform([3, 264], 7, -1, 1, DType.F32, Device.Cpu);
        using var c = Ops.Compress24(w);
        using var y = Ops.Linear24(x, c);
        using var dense = Ops.Decompress24(c);
        using var expected = Ops.MatMul(x, dense, false, true);
        Assert.Equal([3, 19], y.Shape);
        var (got, want) = (y.ToFloatArray(), expected.ToFloatArray());
        for (int k = 0; k < got.Length; k++) Assert.True(Math.Abs(got[k] - want[k]) <= 1e-5 * (1 + Math.Abs(want[k])), $"y[{k}] = {got[k]}, expected {want[k]}");
        using var wrong = Tensor.Zeros([1, 256]);
        Assert.Contains("does not match", Assert.Throws<ArgumentException>(() => Ops.Linear24(wrong, c)).Message);
    }

    [Fact]
    public void SimulatedKernelsMatchCpu()
    {
        CudaBackend.SimulatorEnabled = true;
        var device = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(device, out _), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        var results = new BackendConformance(device, filter: "24").RunAll();
        foreach (var r in results) output.WriteLine(r.ToString());
        Assert.True(results.Count >= 22, $"only {results.Count} cases ran");
        var failed = results.Where(r => !r.Passed || r.Skipped).ToList();
        Assert.True(failed.Count == 0, string.Join("\n", failed));
    }

    /// <summary>Raw bits of every element, with -0 mapped to +0 (as ulong, for any dtype).</summary>
    internal static ulong[] Canonical(Tensor t)
    {
        var es = t.DType.Size();
        var bytes = new byte[t.ByteCount];
        using var c = t.Contiguous();
        c.Backend.CopyToHost(c.Storage, c.Offset * es, bytes);
        var r = new ulong[t.Numel];
        ulong signOnly = es switch { 2 => 0x8000ul, 4 => 0x8000_0000ul, _ => 0x8000_0000_0000_0000ul };
        for (int k = 0; k < r.Length; k++)
        {
            ulong x = 0;
            for (int j = 0; j < es; j++) x |= (ulong)bytes[k * es + j] << (8 * j);
            r[k] = x == signOnly ? 0 : x;
        }
        return r;
    }
}
