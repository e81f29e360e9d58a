// The tensor-core attention kernels compiled to PTX (no GPU needed): one mma.sync per unrolled step (the head-dim
// guards folded away), the 16-bit packing on cvt.rn.*x2, and no local-memory arrays: the only local slots are the 4-byte operands ILGPU passes to inline
// PTX through memory (store, asm, load; ptxas turns them back into registers).
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using Lors.Tensors.Cuda.Kernels;
using Xunit.Abstractions;

namespace Lors.Tests.Cuda;

public sealed class AttentionMmaPtxTests(ITestOutputHelper output)
{
    [Theory]
    // forward: S (D/16 x 8 column tiles) + P V (4 x D/8); dQ: S and dP (2 x D/16 x 4) + dS K (2 x D/8);
    // dK dV: S^T and dP^T (2 x D/16 x 2) + P^T dO and dS^T Q (2 x D/8)
    [InlineData(nameof(AttentionMmaKernels.ForwardBf16D128), 8 * 8 + 4 * 16)]
    [InlineData(nameof(AttentionMmaKernels.ForwardF16D64), 4 * 8 + 4 * 8)]
    [InlineData(nameof(AttentionMmaKernels.BackwardQBf16D128), 2 * 8 * 4 + 2 * 16)]
    [InlineData(nameof(AttentionMmaKernels.BackwardKVBf16D128), 2 * 8 * 2 + 2 * 16)]
    public void MmaKernelCompilesToRegisterFragments(string name, int expectedMmas)
    {
        using var ctx = Context.Create(b => b.Cuda().EnableAlgorithms());
        var arch = new CudaArchitecture(8, 0);
        var backend = new PTXBackend(ctx, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_80, null!);
        var m = typeof(AttentionMmaKernels).GetMethod(name)!;
        var ptx = ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(m), default)).PTXAssembly;
        var dump = Environment.GetEnvironmentVariable("LORS_PTX_DUMP");
        if (!string.IsNullOrEmpty(dump)) File.WriteAllText(Path.Combine(dump, name + ".ptx"), ptx);
        int mmas = CountOf(ptx, "mma.sync.aligned.m16n8k16");
        var depots = System.Text.RegularExpressions.Regex.Matches(ptx, @"\.local \.align \d+ \.b8 __local_depot\d+\[(\d+)\]").Select(m => int.Parse(m.Groups[1].Value)).ToList();
        output.WriteLine($"{name}: {ptx.Length} chars, {mmas} mma, {depots.Count} local slots of {string.Join(",", depots.Distinct())} bytes");
        Assert.Equal(expectedMmas, mmas);
        Assert.True(depots.All(b => b == 4), "a local-memory array: some fragment tile was not kept in registers");
        int cvts = CountOf(ptx, "cvt.rn.bf16x2.f32") + CountOf(ptx, "cvt.rn.f16x2.f32");
        Assert.True(cvts > 0, "no packed conversion (cvt.rn.bf16x2/f16x2) in the PTX");
        // 10 operands per mma.sync, 3 per cvt
        Assert.True(depots.Count <= 10 * mmas + 3 * cvts, $"{depots.Count} local slots for {mmas} mma steps and {cvts} conversions");
    }

    private static int CountOf(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
