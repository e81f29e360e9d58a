// Compressed 2:4 weights on the CPU, the reference the CUDA kernels are checked against: w [O, I] <-> values [O, I/2]
// + meta U8 [O, I/8] (layout in Sparse/Sparse24Weight.cs), and the LoRS merge on the kept values. The merge runs the
// dense merge's arithmetic per element (fp32 FMA chain over k in order, then fma(acc, s, v), rounded back to v's dtype
// by the same conversion), so W' from the compressed path is bit-identical to MaskedLowRankMerge's.
using System.Buffers;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void Compress24(Tensor w, Tensor values, Tensor meta, Tensor firstBad)
    {
        int o = w.Shape[0], n = w.Shape[1], es = w.DType.Size(), groups = n / 4;
        byte* wp = Ptr(w), vp = Ptr(values), mp = Ptr(meta);
        int bad = int.MaxValue;
        ParallelRows(o, n, (r0, r1) =>
        {
            for (long row = r0; row < r1; row++)
            {
                byte* wr = wp + row * n * es, vr = vp + row * (n / 2) * es, mr = mp + row * (n / 8);
                for (int g = 0; g < groups; g++)
                {
                    int kept = 0, nib = 0;
                    for (int p = 0; p < 4 && kept <= 2; p++)
                        if (NonZeroAt(wr, es, 4 * g + p)) { if (kept < 2) nib |= p << (2 * kept); kept++; }
                    if (kept > 2)
                    {
                        int at = (int)(row * groups + g);
                        int seen;
                        while (at < (seen = Volatile.Read(ref bad)) && Interlocked.CompareExchange(ref bad, at, seen) != seen) { }
                        break; // later groups of this row are higher indices
                    }
                    // Fill up with the lowest positions not yet kept, keeping p0 < p1.
                    int p0 = kept > 0 ? nib & 3 : -1, p1 = kept > 1 ? nib >> 2 & 3 : -1;
                    for (int p = 0; p < 4 && (p0 < 0 || p1 < 0); p++)
                    {
                        if (p == p0 || p == p1) continue;
                        if (p0 < 0) p0 = p; else p1 = p;
                    }
                    if (p0 > p1) (p0, p1) = (p1, p0);
                    Buffer.MemoryCopy(wr + (4 * g + p0) * es, vr + (2 * g) * es, es, es);
                    Buffer.MemoryCopy(wr + (4 * g + p1) * es, vr + (2 * g + 1) * es, es, es);
                    int code = p0 | p1 << 2;
                    mr[g >> 1] = (byte)((g & 1) == 0 ? (mr[g >> 1] & 0xF0) | code : (mr[g >> 1] & 0x0F) | code << 4);
                }
            }
        });
        if (bad != int.MaxValue) *(int*)Ptr(firstBad) = bad;
    }

    public void Decompress24(Tensor values, Tensor meta, Tensor y)
    {
        int o = y.Shape[0], n = y.Shape[1], es = y.DType.Size();
        byte* vp = Ptr(values), mp = Ptr(meta), yp = Ptr(y);
        ParallelRows(o, n, (r0, r1) =>
        {
            for (long row = r0; row < r1; row++)
                ScatterRow24(vp + row * (n / 2) * es, mp + row * (n / 8), yp + row * n * es, es, n);
        });
    }

    public void MaskedLowRankMerge24(Tensor values, Tensor meta, Tensor a, Tensor b, float s, Tensor y)
    {
        int o = values.Shape[0], half = values.Shape[1], n = half * 2, r = a.Shape[1], es = values.DType.Size();
        bool dense = y.Shape[1] == n;
        var dt = values.DType;
        byte* vp = Ptr(values), mp = Ptr(meta), yp = Ptr(y);
        if (dt == DType.F64)
        {
            using var a64 = a.DType == DType.F64 ? null : a.To(DType.F64);
            using var b64 = b.DType == DType.F64 ? null : b.To(DType.F64);
            double* ad = F64(a64 ?? a), bd = F64(b64 ?? b);
            ParallelRows(o, (long)half * (r + 1), (r0, r1) =>
            {
                var kept = new double[half];
                fixed (double* kp = kept)
                    for (long row = r0; row < r1; row++)
                    {
                        double* vr = (double*)vp + row * half;
                        byte* mr = mp + row * (n / 8);
                        for (int j = 0; j < half; j++)
                        {
                            int col = Column24(mr, j);
                            double acc = 0;
                            for (int k = 0; k < r; k++) acc = Math.FusedMultiplyAdd(ad[row * r + k], bd[(long)k * n + col], acc);
                            kp[j] = vr[j] != 0 ? Math.FusedMultiplyAdd(acc, s, vr[j]) : vr[j];
                        }
                        StoreRow24((byte*)kp, mr, yp, row, n, es, dense);
                    }
            });
            return;
        }
        using var a32 = a.DType == DType.F32 ? null : a.To(DType.F32);
        using var b32 = b.DType == DType.F32 ? null : b.To(DType.F32);
        float* af = F(a32 ?? a), bf = F(b32 ?? b);
        ParallelRows(o, (long)half * (r + 1), (r0, r1) =>
        {
            var wide = ArrayPool<float>.Shared.Rent(half);
            var narrow = ArrayPool<byte>.Shared.Rent(half * es);
            fixed (float* wv = wide)
            fixed (byte* nb = narrow)
                for (long row = r0; row < r1; row++)
                {
                    byte* mr = mp + row * (n / 8);
                    Convert.Run(vp + row * half * es, dt, (byte*)wv, DType.F32, half);
                    float* arow = af + row * r;
                    for (int j = 0; j < half; j++)
                    {
                        int col = Column24(mr, j);
                        float acc = 0f;
                        for (int k = 0; k < r; k++) acc = MathF.FusedMultiplyAdd(arow[k], bf[(long)k * n + col], acc);
                        wv[j] = wv[j] != 0f ? MathF.FusedMultiplyAdd(acc, s, wv[j]) : wv[j];
                    }
                    // A zero kept value keeps its exact bits (the dense merge copies zeros of w).
                    Convert.Run((byte*)wv, DType.F32, nb, dt, half);
                    for (int j = 0; j < half; j++)
                        if (!NonZeroAt(vp + row * half * es, es, j)) Buffer.MemoryCopy(vp + (row * half + j) * es, nb + j * es, es, es);
                    StoreRow24(nb, mr, yp, row, n, es, dense);
                }
            ArrayPool<float>.Shared.Return(wide);
            ArrayPool<byte>.Shared.Return(narrow);
        });
    }

    public void Linear24(Tensor x, Tensor values, Tensor meta, Tensor y)
    {
        int n = x.Shape[0], i = x.Shape[1], o = values.Shape[0], half = i / 2;
        using var x64 = x.To(DType.F64);
        using var w64 = values.To(DType.F64);
        using var y64 = Tensor.Empty([n, o], DType.F64, Device.Cpu);
        double* xp = F64(x64), wp = F64(w64), yp = F64(y64);
        byte* mp = Ptr(meta);
        // The slow reference: one output at a time, kept values in order, fp32 accumulation as the kernels do.
        ParallelRows(o, (long)n * half, (r0, r1) =>
        {
            for (long row = r0; row < r1; row++)
                for (int t = 0; t < n; t++)
                {
                    float acc = 0f;
                    for (int j = 0; j < half; j++)
                        acc = MathF.FusedMultiplyAdd((float)wp[row * half + j], (float)xp[(long)t * i + Column24(mp + row * (i / 8), j)], acc);
                    yp[(long)t * o + row] = acc;
                }
        });
        Copy(y64, y);
    }

    /// <summary>The column (0 .. I-1) of kept value j in a row whose metadata starts at mr.</summary>
    private static int Column24(byte* mr, int j)
    {
        int g = j >> 1, nib = mr[g >> 1] >> ((g & 1) * 4) & 15;
        return 4 * g + ((j & 1) == 0 ? nib & 3 : nib >> 2 & 3);
    }

    /// <summary>Row `row` of y: the kept values kp (es bytes each) as they are [I/2], or scattered into the dense [I] row.</summary>
    private static void StoreRow24(byte* kp, byte* mr, byte* yp, long row, int n, int es, bool dense)
    {
        if (dense) ScatterRow24(kp, mr, yp + row * n * es, es, n);
        else Buffer.MemoryCopy(kp, yp + row * (n / 2) * es, (long)n / 2 * es, (long)n / 2 * es);
    }

    private static void ScatterRow24(byte* kept, byte* mr, byte* yr, int es, int n)
    {
        new Span<byte>(yr, n * es).Clear();
        for (int j = 0; j < n / 2; j++)
            Buffer.MemoryCopy(kept + j * es, yr + Column24(mr, j) * es, es, es);
    }

    /// <summary>Whether element i of a float row is non-zero (either zero sign counts as zero; NaN counts as non-zero).</summary>
    private static bool NonZeroAt(byte* row, int es, int i) => es switch
    {
        2 => (((ushort*)row)[i] & 0x7FFF) != 0,
        4 => (((uint*)row)[i] & 0x7FFFFFFFu) != 0,
        _ => (((ulong*)row)[i] & 0x7FFFFFFFFFFFFFFFul) != 0,
    };
}
