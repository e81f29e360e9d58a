// Register-resident fragment tiles of the tensor-core attention kernels, unrolled by hand: ILGPU neither unrolls
// constant loops nor keeps local arrays in registers, so every tile is a struct of m16n8k16 fragments and every
// operation names its fields (guarded by the compile-time head dim: nk = D/16 k steps, nd = D/8 column tiles).
// Frag2/4/8: 16 rows x 16/32/64 columns; Frag16: 16 rows x up to 128 columns; ARows: A fragments of 16 rows x up to 128.
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

/// <summary>The four A registers of one 16 x 16 k step.</summary>
internal struct U4
{
    public uint A0, A1, A2, A3;
}

internal struct Frag2 { public Frag F0, F1; }
internal struct Frag4 { public Frag F0, F1, F2, F3; }
internal struct Frag8 { public Frag F0, F1, F2, F3, F4, F5, F6, F7; }
internal struct Frag16 { public Frag F0, F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12, F13, F14, F15; }
internal struct ARows { public U4 K0, K1, K2, K3, K4, K5, K6, K7; }

internal static class MmaFrags
{
    /// <summary>A registers of k step at word column c: rows at word offsets b0 (a0, a2) and b1 (a1, a3), + t already in b0/b1.</summary>
    public static U4 LdA(ArrayView<uint> x, long b0, long b1, int c) => new() { A0 = x[b0 + c], A1 = x[b1 + c], A2 = x[b0 + c + 4], A3 = x[b1 + c + 4] };

    /// <summary>All nk k steps of two rows (word offsets b0, b1 including the lane's t).</summary>
    public static ARows LoadA(ArrayView<uint> x, long b0, long b1, int nk)
    {
        var r = default(ARows);
        r.K0 = LdA(x, b0, b1, 0);
        if (nk > 1) r.K1 = LdA(x, b0, b1, 8);
        if (nk > 2) r.K2 = LdA(x, b0, b1, 16);
        if (nk > 3) r.K3 = LdA(x, b0, b1, 24);
        if (nk > 4) r.K4 = LdA(x, b0, b1, 32);
        if (nk > 5) r.K5 = LdA(x, b0, b1, 40);
        if (nk > 6) r.K6 = LdA(x, b0, b1, 48);
        if (nk > 7) r.K7 = LdA(x, b0, b1, 56);
        return r;
    }

    /// <summary>P as the A operand of the next product: the accumulators of column tiles lo (cols 0..7) and hi (8..15).</summary>
    public static U4 PackA<TM>(TM m, Frag lo, Frag hi) where TM : struct, IMma<TM> => new()
    {
        A0 = m.Pack(lo.X, lo.Y), A1 = m.Pack(lo.Z, lo.W),
        A2 = m.Pack(hi.X, hi.Y), A3 = m.Pack(hi.Z, hi.W),
    };

    /// <summary>c + a B where B's column n = row of a shared tile at word index i (k pair t at i, k + 8 at i + 4).</summary>
    public static Frag Nt<TM>(TM m, Frag c, U4 a, ArrayView<uint> sh, int i) where TM : struct, IMma<TM> =>
        m.Mma(c, a.A0, a.A1, a.A2, a.A3, sh[i], sh[i + 4]);

    private static Frag2 Step2<TM>(TM m, Frag2 s, U4 x, ArrayView<uint> sh, int st, int c) where TM : struct, IMma<TM>
    {
        s.F0 = Nt(m, s.F0, x, sh, c + 0 * st);
        s.F1 = Nt(m, s.F1, x, sh, c + 8 * st);
        return s;
    }

    /// <summary>16 x 16 = A (registers, nk k steps) times the first 16 rows of a shared tile, transposed; i = g * st + t.</summary>
    public static Frag2 Mul2<TM>(TM m, ARows a, ArrayView<uint> sh, int st, int i, int nk) where TM : struct, IMma<TM>
    {
        var s = Step2(m, default, a.K0, sh, st, i);
        if (nk > 1) s = Step2(m, s, a.K1, sh, st, i + 8);
        if (nk > 2) s = Step2(m, s, a.K2, sh, st, i + 16);
        if (nk > 3) s = Step2(m, s, a.K3, sh, st, i + 24);
        if (nk > 4) s = Step2(m, s, a.K4, sh, st, i + 32);
        if (nk > 5) s = Step2(m, s, a.K5, sh, st, i + 40);
        if (nk > 6) s = Step2(m, s, a.K6, sh, st, i + 48);
        if (nk > 7) s = Step2(m, s, a.K7, sh, st, i + 56);
        return s;
    }

    private static Frag4 Step4<TM>(TM m, Frag4 s, U4 x, ArrayView<uint> sh, int st, int c) where TM : struct, IMma<TM>
    {
        s.F0 = Nt(m, s.F0, x, sh, c + 0 * st);
        s.F1 = Nt(m, s.F1, x, sh, c + 8 * st);
        s.F2 = Nt(m, s.F2, x, sh, c + 16 * st);
        s.F3 = Nt(m, s.F3, x, sh, c + 24 * st);
        return s;
    }

    /// <summary>16 x 32 = A (registers, nk k steps) times the first 32 rows of a shared tile, transposed; i = g * st + t.</summary>
    public static Frag4 Mul4<TM>(TM m, ARows a, ArrayView<uint> sh, int st, int i, int nk) where TM : struct, IMma<TM>
    {
        var s = Step4(m, default, a.K0, sh, st, i);
        if (nk > 1) s = Step4(m, s, a.K1, sh, st, i + 8);
        if (nk > 2) s = Step4(m, s, a.K2, sh, st, i + 16);
        if (nk > 3) s = Step4(m, s, a.K3, sh, st, i + 24);
        if (nk > 4) s = Step4(m, s, a.K4, sh, st, i + 32);
        if (nk > 5) s = Step4(m, s, a.K5, sh, st, i + 40);
        if (nk > 6) s = Step4(m, s, a.K6, sh, st, i + 48);
        if (nk > 7) s = Step4(m, s, a.K7, sh, st, i + 56);
        return s;
    }

    private static Frag8 Step8<TM>(TM m, Frag8 s, U4 x, ArrayView<uint> sh, int st, int c) where TM : struct, IMma<TM>
    {
        s.F0 = Nt(m, s.F0, x, sh, c + 0 * st);
        s.F1 = Nt(m, s.F1, x, sh, c + 8 * st);
        s.F2 = Nt(m, s.F2, x, sh, c + 16 * st);
        s.F3 = Nt(m, s.F3, x, sh, c + 24 * st);
        s.F4 = Nt(m, s.F4, x, sh, c + 32 * st);
        s.F5 = Nt(m, s.F5, x, sh, c + 40 * st);
        s.F6 = Nt(m, s.F6, x, sh, c + 48 * st);
        s.F7 = Nt(m, s.F7, x, sh, c + 56 * st);
        return s;
    }

    /// <summary>16 x 64 = A (registers, nk k steps) times the first 64 rows of a shared tile, transposed; i = g * st + t.</summary>
    public static Frag8 Mul8<TM>(TM m, ARows a, ArrayView<uint> sh, int st, int i, int nk) where TM : struct, IMma<TM>
    {
        var s = Step8(m, default, a.K0, sh, st, i);
        if (nk > 1) s = Step8(m, s, a.K1, sh, st, i + 8);
        if (nk > 2) s = Step8(m, s, a.K2, sh, st, i + 16);
        if (nk > 3) s = Step8(m, s, a.K3, sh, st, i + 24);
        if (nk > 4) s = Step8(m, s, a.K4, sh, st, i + 32);
        if (nk > 5) s = Step8(m, s, a.K5, sh, st, i + 40);
        if (nk > 6) s = Step8(m, s, a.K6, sh, st, i + 48);
        if (nk > 7) s = Step8(m, s, a.K7, sh, st, i + 56);
        return s;
    }

    private static Frag2 Step2S<TM>(TM m, Frag2 s, ArrayView<uint> a, int i0, int i1, ArrayView<uint> b, int st, int ib, int c) where TM : struct, IMma<TM>
    {
        var x = LdA(a, i0, i1, c);
        s.F0 = Nt(m, s.F0, x, b, ib + c);
        s.F1 = Nt(m, s.F1, x, b, ib + c + 8 * st);
        return s;
    }

    /// <summary>16 x 16 = A (rows of shared tile a at word offsets i0, i1, lane's t included) times rows of shared tile b (ib = g * st + t), transposed.</summary>
    public static Frag2 Mul2S<TM>(TM m, ArrayView<uint> a, int i0, int i1, ArrayView<uint> b, int st, int ib, int nk) where TM : struct, IMma<TM>
    {
        var s = Step2S(m, default, a, i0, i1, b, st, ib, 0);
        if (nk > 1) s = Step2S(m, s, a, i0, i1, b, st, ib, 8);
        if (nk > 2) s = Step2S(m, s, a, i0, i1, b, st, ib, 16);
        if (nk > 3) s = Step2S(m, s, a, i0, i1, b, st, ib, 24);
        if (nk > 4) s = Step2S(m, s, a, i0, i1, b, st, ib, 32);
        if (nk > 5) s = Step2S(m, s, a, i0, i1, b, st, ib, 40);
        if (nk > 6) s = Step2S(m, s, a, i0, i1, b, st, ib, 48);
        if (nk > 7) s = Step2S(m, s, a, i0, i1, b, st, ib, 56);
        return s;
    }

    /// <summary>o += a B with B = 16 rows (from row k0 = k step base + 2t) x nd*8 columns of a shared tile used as is (LdT pairs).</summary>
    public static Frag16 Acc<TM>(TM m, Frag16 o, U4 a, ArrayView<uint> sh, int st, int k0, int g, int shift, int nd) where TM : struct, IMma<TM>
    {
        o.F0 = m.Mma(o.F0, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 0 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 0 + g, shift));
        o.F1 = m.Mma(o.F1, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 8 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 8 + g, shift));
        o.F2 = m.Mma(o.F2, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 16 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 16 + g, shift));
        o.F3 = m.Mma(o.F3, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 24 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 24 + g, shift));
        if (nd > 4) o.F4 = m.Mma(o.F4, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 32 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 32 + g, shift));
        if (nd > 5) o.F5 = m.Mma(o.F5, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 40 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 40 + g, shift));
        if (nd > 6) o.F6 = m.Mma(o.F6, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 48 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 48 + g, shift));
        if (nd > 7) o.F7 = m.Mma(o.F7, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 56 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 56 + g, shift));
        if (nd > 8) o.F8 = m.Mma(o.F8, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 64 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 64 + g, shift));
        if (nd > 9) o.F9 = m.Mma(o.F9, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 72 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 72 + g, shift));
        if (nd > 10) o.F10 = m.Mma(o.F10, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 80 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 80 + g, shift));
        if (nd > 11) o.F11 = m.Mma(o.F11, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 88 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 88 + g, shift));
        if (nd > 12) o.F12 = m.Mma(o.F12, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 96 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 96 + g, shift));
        if (nd > 13) o.F13 = m.Mma(o.F13, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 104 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 104 + g, shift));
        if (nd > 14) o.F14 = m.Mma(o.F14, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 112 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 112 + g, shift));
        if (nd > 15) o.F15 = m.Mma(o.F15, a.A0, a.A1, a.A2, a.A3, MmaTile.LdT(sh, st, k0, 120 + g, shift), MmaTile.LdT(sh, st, k0 + 8, 120 + g, shift));
        return o;
    }

    private static Frag Scale(Frag f, float c0, float c1) => new() { X = f.X * c0, Y = f.Y * c0, Z = f.Z * c1, W = f.W * c1 };

    /// <summary>Rows g (X, Y) times c0 and rows g + 8 (Z, W) times c1.</summary>
    public static Frag16 ScaleRows(Frag16 o, float c0, float c1, int nd)
    {
        o.F0 = Scale(o.F0, c0, c1);
        o.F1 = Scale(o.F1, c0, c1);
        o.F2 = Scale(o.F2, c0, c1);
        o.F3 = Scale(o.F3, c0, c1);
        if (nd > 4) o.F4 = Scale(o.F4, c0, c1);
        if (nd > 5) o.F5 = Scale(o.F5, c0, c1);
        if (nd > 6) o.F6 = Scale(o.F6, c0, c1);
        if (nd > 7) o.F7 = Scale(o.F7, c0, c1);
        if (nd > 8) o.F8 = Scale(o.F8, c0, c1);
        if (nd > 9) o.F9 = Scale(o.F9, c0, c1);
        if (nd > 10) o.F10 = Scale(o.F10, c0, c1);
        if (nd > 11) o.F11 = Scale(o.F11, c0, c1);
        if (nd > 12) o.F12 = Scale(o.F12, c0, c1);
        if (nd > 13) o.F13 = Scale(o.F13, c0, c1);
        if (nd > 14) o.F14 = Scale(o.F14, c0, c1);
        if (nd > 15) o.F15 = Scale(o.F15, c0, c1);
        return o;
    }

    /// <summary>Writes row g (word offset b0, lane's t included) when ok0 and row g + 8 (b1) when ok1, times c0 / c1.</summary>
    public static void Store<TM>(TM m, ArrayView<uint> y, long b0, long b1, bool ok0, bool ok1, Frag16 o, float c0, float c1, int nd) where TM : struct, IMma<TM>
    {
        Put(m, y, b0 + 0, b1 + 0, ok0, ok1, o.F0, c0, c1);
        Put(m, y, b0 + 4, b1 + 4, ok0, ok1, o.F1, c0, c1);
        Put(m, y, b0 + 8, b1 + 8, ok0, ok1, o.F2, c0, c1);
        Put(m, y, b0 + 12, b1 + 12, ok0, ok1, o.F3, c0, c1);
        if (nd > 4) Put(m, y, b0 + 16, b1 + 16, ok0, ok1, o.F4, c0, c1);
        if (nd > 5) Put(m, y, b0 + 20, b1 + 20, ok0, ok1, o.F5, c0, c1);
        if (nd > 6) Put(m, y, b0 + 24, b1 + 24, ok0, ok1, o.F6, c0, c1);
        if (nd > 7) Put(m, y, b0 + 28, b1 + 28, ok0, ok1, o.F7, c0, c1);
        if (nd > 8) Put(m, y, b0 + 32, b1 + 32, ok0, ok1, o.F8, c0, c1);
        if (nd > 9) Put(m, y, b0 + 36, b1 + 36, ok0, ok1, o.F9, c0, c1);
        if (nd > 10) Put(m, y, b0 + 40, b1 + 40, ok0, ok1, o.F10, c0, c1);
        if (nd > 11) Put(m, y, b0 + 44, b1 + 44, ok0, ok1, o.F11, c0, c1);
        if (nd > 12) Put(m, y, b0 + 48, b1 + 48, ok0, ok1, o.F12, c0, c1);
        if (nd > 13) Put(m, y, b0 + 52, b1 + 52, ok0, ok1, o.F13, c0, c1);
        if (nd > 14) Put(m, y, b0 + 56, b1 + 56, ok0, ok1, o.F14, c0, c1);
        if (nd > 15) Put(m, y, b0 + 60, b1 + 60, ok0, ok1, o.F15, c0, c1);
    }

    private static void Put<TM>(TM m, ArrayView<uint> y, long i0, long i1, bool ok0, bool ok1, Frag f, float c0, float c1) where TM : struct, IMma<TM>
    {
        if (ok0) y[i0] = m.Pack(f.X * c0, f.Y * c0);
        if (ok1) y[i1] = m.Pack(f.Z * c1, f.W * c1);
    }
}
