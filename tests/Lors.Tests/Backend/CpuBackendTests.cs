// The backend suite on the CPU, each SIMD-sensitive test repeated at the AVX-512, AVX2 and scalar levels,
// plus CPU-only checks (thread-count independence of results).
using Lors.Tensors;
using Lors.Tensors.Cpu;

namespace Lors.Tests.Backend;

/// <summary>
/// These tests change process-wide settings (CpuFeatures.Level, MaxThreads); a collection with parallelization
/// disabled runs alone, after the parallel ones, so no other test sees a changed SIMD level or thread count.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CpuGlobalStateCollection
{
    public const string Name = "CPU global state";
}

[Collection(CpuGlobalStateCollection.Name)]
public sealed class CpuBackendTests : BackendSuite
{
    protected override Device Device => Device.Cpu;

    protected override void ForEachLevel(Action body)
    {
        foreach (var level in new[] { SimdLevel.Avx512, SimdLevel.Avx2, SimdLevel.Scalar })
            if (level <= CpuFeatures.Hardware) CpuFeatures.With(level, body);
    }

    [Fact]
    public void AttentionAndEmbeddingBackwardDoNotDependOnThreads()
    {
        var q = Rand(2 * 4 * 96 * 32, 1);
        var k = Rand(2 * 2 * 96 * 32, 2);
        float[] Run(int threads)
        {
            int saved = CpuFeatures.MaxThreads;
            CpuFeatures.MaxThreads = threads;
            try
            {
                using var qt = Make(q, [2, 4, 96, 32], DType.F32);
                using var kt = Make(k, [2, 2, 96, 32], DType.F32);
                var (o, l) = Ops.Attention(qt, kt, kt, 0.2f);
                using (l)
                using (o)
                {
                    var (gq, gk, gv) = Ops.AttentionBackward(qt, kt, kt, o, l, qt, 0.2f);
                    using (gq) using (gk) using (gv)
                        return [.. o.ToFloatArray(), .. gq.ToFloatArray(), .. gk.ToFloatArray(), .. gv.ToFloatArray()];
                }
            }
            finally { CpuFeatures.MaxThreads = saved; }
        }
        Assert.Equal(Run(1), Run(Math.Max(2, CpuFeatures.MaxThreads)));
    }

    [Fact]
    public void F32ToBF16MatchesTheScalarRuleAtEveryLevelAndLength() => ForEachLevel(() =>
    {
        var rng = new Random(5);
        for (int n = 0; n <= 100; n++)
        {
            var f = new float[n];
            for (int i = 0; i < n; i++)
            {
                // Random bit patterns hit ties (low 16 bits 0x8000), NaNs, infinities and subnormals.
                uint bits = (uint)rng.NextInt64(0, 1L << 32);
                if (i % 5 == 1) bits = (bits & 0xFFFF_0000) | 0x8000;
                if (i % 17 == 3) bits = 0x7FC0_0001 | (bits & 0x8000_0000);
                f[i] = BitConverter.UInt32BitsToSingle(bits);
            }
            using var t = Tensor.FromArray(f, [n], Device);
            using var b = t.To(DType.BF16);
            var got = new ushort[n];
            Backends.Cpu.CopyToHost(b.Storage, 0, System.Runtime.InteropServices.MemoryMarshal.AsBytes(got.AsSpan()));
            for (int i = 0; i < n; i++) Assert.Equal(Half16.FloatToBF16(f[i]), got[i]);
        }
    });
}
