// Building blocks of the tensor-core ("mma") attention kernels: the m16n8k16 warp matrix-multiply-accumulate step,
// either the real instruction (PtxMma*, inline PTX mma.sync, GPU only) or an exact per-lane emulation (EmuMma*, lanes
// exchange registers through shared scratch; runs on ILGPU's CPU accelerator so the whole kernel is testable without a
// GPU), head-dim types and shared-memory tile helpers.
// Fragment layout (PTX ISA, mma.m16n8k16 with .bf16/.f16; g = lane / 4, t = lane % 4):
//   A 16x16 row-major, 4 regs of 2 halves: a0 (row g, cols 2t, 2t+1), a1 (row g+8, same cols), a2 (row g, cols 2t+8, +9),
//     a3 (row g+8, cols 2t+8, +9); the lower 16 bits hold the lower column.
//   B 16x8 ("col"), 2 regs: b0 (rows 2t, 2t+1 of column g), b1 (rows 2t+8, 2t+9 of column g).
//   C/D 16x8 fp32: c0, c1 (row g, cols 2t, 2t+1), c2, c3 (row g+8, cols 2t, 2t+1).
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Lors.Tensors.Cuda.Kernels;

/// <summary>One m16n8k16 accumulator fragment: c0..c3 of the calling lane.</summary>
internal struct Frag
{
    public float X, Y, Z, W;
}

/// <summary>
/// D = A B + C for one warp (see the file header for the fragment layout); F16 selects the element format. The
/// emulation needs ScratchWords of shared memory, handed over once per kernel by WithScratch (the PTX step none).
/// </summary>
internal interface IMma<TSelf> where TSelf : struct, IMma<TSelf>
{
    bool F16 { get; }
    int ScratchWords { get; }
    TSelf WithScratch(ArrayView<uint> scratch);
    /// <summary>lo and hi rounded to nearest even in the 16-bit format, lo in the lower half.</summary>
    uint Pack(float lo, float hi);
    Frag Mma(Frag c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1);
}

internal struct PtxMmaBf16 : IMma<PtxMmaBf16>
{
    public readonly bool F16 => false;
    public readonly int ScratchWords => 1;
    public readonly PtxMmaBf16 WithScratch(ArrayView<uint> scratch) => this;

    public readonly uint Pack(float lo, float hi)
    {
        // cvt.rn.bf16x2.f32 d, a, b puts a in the upper half and b in the lower
        CudaAsm.Emit("cvt.rn.bf16x2.f32 %0, %1, %2;", out uint d, hi, lo);
        return d;
    }

    public readonly Frag Mma(Frag c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        Ref<float> d0 = c.X, d1 = c.Y, d2 = c.Z, d3 = c.W;
        Input<uint> x0 = a0, x1 = a1, x2 = a2, x3 = a3, y0 = b0, y1 = b1;
        CudaAsm.EmitRef("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};",
            ref d0, ref d1, ref d2, ref d3, ref x0, ref x1, ref x2, ref x3, ref y0, ref y1);
        return new Frag { X = d0.Value, Y = d1.Value, Z = d2.Value, W = d3.Value };
    }
}

internal struct PtxMmaF16 : IMma<PtxMmaF16>
{
    public readonly bool F16 => true;
    public readonly int ScratchWords => 1;
    public readonly PtxMmaF16 WithScratch(ArrayView<uint> scratch) => this;

    public readonly uint Pack(float lo, float hi)
    {
        // cvt.rn.f16x2.f32 d, a, b puts a in the upper half and b in the lower
        CudaAsm.Emit("cvt.rn.f16x2.f32 %0, %1, %2;", out uint d, hi, lo);
        return d;
    }

    public readonly Frag Mma(Frag c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        Ref<float> d0 = c.X, d1 = c.Y, d2 = c.Z, d3 = c.W;
        Input<uint> x0 = a0, x1 = a1, x2 = a2, x3 = a3, y0 = b0, y1 = b1;
        CudaAsm.EmitRef("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};",
            ref d0, ref d1, ref d2, ref d3, ref x0, ref x1, ref x2, ref x3, ref y0, ref y1);
        return new Frag { X = d0.Value, Y = d1.Value, Z = d2.Value, W = d3.Value };
    }
}

internal struct EmuMmaBf16 : IMma<EmuMmaBf16>
{
    public ArrayView<uint> Scratch;
    public readonly bool F16 => false;
    public readonly int ScratchWords => MmaEmulation.ScratchWords;
    public readonly EmuMmaBf16 WithScratch(ArrayView<uint> scratch) => new() { Scratch = scratch };
    public readonly uint Pack(float lo, float hi) => MmaTile.Pack(false, lo, hi);
    public readonly Frag Mma(Frag c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) => MmaEmulation.Run(Scratch, false, c, a0, a1, a2, a3, b0, b1);
}

internal struct EmuMmaF16 : IMma<EmuMmaF16>
{
    public ArrayView<uint> Scratch;
    public readonly bool F16 => true;
    public readonly int ScratchWords => MmaEmulation.ScratchWords;
    public readonly EmuMmaF16 WithScratch(ArrayView<uint> scratch) => new() { Scratch = scratch };
    public readonly uint Pack(float lo, float hi) => MmaTile.Pack(true, lo, hi);
    public readonly Frag Mma(Frag c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) => MmaEmulation.Run(Scratch, true, c, a0, a1, a2, a3, b0, b1);
}

internal static class MmaEmulation
{
    /// <summary>Six registers per lane, 32 lanes per warp, up to 4 warps per CTA.</summary>
    public const int ScratchWords = 4 * 32 * 6;

    public static float Lo(bool f16, uint p) => f16 ? Elem.F16ToFloat((ushort)(p & 0xFFFFu)) : Elem.Bf16ToFloat((ushort)(p & 0xFFFFu));
    public static float Hi(bool f16, uint p) => f16 ? Elem.F16ToFloat((ushort)(p >> 16)) : Elem.Bf16ToFloat((ushort)(p >> 16));

    /// <summary>Dot of the two halves of x and y plus the two halves of z and w (four products of k = 2s, 2s+1, 2s+8, 2s+9).</summary>
    private static float Dot4(bool f16, uint x, uint y, uint z, uint w) =>
        Lo(f16, x) * Lo(f16, y) + Hi(f16, x) * Hi(f16, y) + Lo(f16, z) * Lo(f16, w) + Hi(f16, z) * Hi(f16, w);

    /// <summary>
    /// The lane's D fragment from every lane's A and B registers, exchanged through the warp's slice of shared scratch
    /// (two warp barriers instead of 32 shuffles: the CPU accelerator pays a thread switch per lane for each): for k pair
    /// s, row g's A halves live in lane 4g + s and column n's B halves in lane 4n + s. The whole warp must call it.
    /// </summary>
    public static Frag Run(ArrayView<uint> sc, bool f16, Frag c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        int lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3, wb = Warp.WarpIdx * 32 * 6, me = wb + lane * 6;
        sc[me] = a0; sc[me + 1] = a1; sc[me + 2] = a2; sc[me + 3] = a3; sc[me + 4] = b0; sc[me + 5] = b1;
        Warp.Barrier();
        for (int s = 0; s < 4; s++)
        {
            int la = wb + (4 * g + s) * 6, lb0 = wb + (4 * (2 * t) + s) * 6, lb1 = wb + (4 * (2 * t + 1) + s) * 6;
            uint r0 = sc[la], r1 = sc[la + 1], r2 = sc[la + 2], r3 = sc[la + 3];
            uint p0 = sc[lb0 + 4], p1 = sc[lb0 + 5], q0 = sc[lb1 + 4], q1 = sc[lb1 + 5];
            c.X += Dot4(f16, r0, p0, r2, p1);
            c.Y += Dot4(f16, r0, q0, r2, q1);
            c.Z += Dot4(f16, r1, p0, r3, p1);
            c.W += Dot4(f16, r1, q0, r3, q1);
        }
        Warp.Barrier(); // the next step overwrites the scratch
        return c;
    }
}

/// <summary>Head dim as a type, so tile loops have compile-time trip counts (unrolled; fragments stay in registers).</summary>
internal interface IHeadDim { int D { get; } }
internal struct Hd16 : IHeadDim { public readonly int D => 16; }
internal struct Hd32 : IHeadDim { public readonly int D => 32; }
internal struct Hd48 : IHeadDim { public readonly int D => 48; }
internal struct Hd64 : IHeadDim { public readonly int D => 64; }
internal struct Hd80 : IHeadDim { public readonly int D => 80; }
internal struct Hd96 : IHeadDim { public readonly int D => 96; }
internal struct Hd112 : IHeadDim { public readonly int D => 112; }
internal struct Hd128 : IHeadDim { public readonly int D => 128; }

internal static class MmaTile
{
    public const int MaxD = 128;
    /// <summary>Row stride of a shared tile in 32-bit words: D/2 + 4 makes the 8 x 4 fragment reads hit 32 distinct banks.</summary>
    public const int MaxStride = MaxD / 2 + 4;
    public const int Threads = 128;
    public const float Log2E = 1.44269504088896341f;
    public const float Ln2 = 0.693147180559945309f;

    public static uint Pack(bool f16, float lo, float hi) => f16
        ? Elem.FloatToF16(lo) | ((uint)Elem.FloatToF16(hi) << 16)
        : Elem.FloatToBf16(lo) | ((uint)Elem.FloatToBf16(hi) << 16);

    /// <summary>
    /// Copies rows [r0, r0 + rows) of a [n, D] 16-bit matrix (word view x, word offset b) into a shared tile with
    /// stride st words; rows at or past n read as zero. All 128 threads call it; rows * W must be a multiple of 128.
    /// </summary>
    public static void LoadTile(ArrayView<uint> sh, ArrayView<uint> x, long b, int r0, int n, int rows, int w, int st, int tid)
    {
        int count = rows * w / Threads;
        for (int it = 0; it < count; it++)
        {
            int i = it * Threads + tid, r = i / w, c = i - r * w;
            sh[r * st + c] = r0 + r < n ? x[b + (long)(r0 + r) * w + c] : 0u;
        }
    }

    /// <summary>
    /// A B operand from a row-major shared tile used transposed: the halves at (row k0 + 2t, col) and (k0 + 2t + 1, col)
    /// (b0 with k0 = kBase, b1 with kBase + 8); shift = 16 * (col &amp; 1).
    /// </summary>
    public static uint LdT(ArrayView<uint> sh, int st, int k, int col, int shift)
    {
        uint w0 = sh[k * st + (col >> 1)], w1 = sh[(k + 1) * st + (col >> 1)];
        return ((w0 >> shift) & 0xFFFFu) | ((w1 >> shift) << 16);
    }

    public static float Max4(float v)
    {
        v = Max(v, Warp.ShuffleXor(v, 1));
        return Max(v, Warp.ShuffleXor(v, 2));
    }

    public static float Max(float a, float b) => a > b ? a : b;

    public static float Sum4(float v)
    {
        v += Warp.ShuffleXor(v, 1);
        return v + Warp.ShuffleXor(v, 2);
    }
}
