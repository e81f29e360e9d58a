// Causal GQA attention, flash style: q [B,Hq,T,D], k/v [B,Hkv,S,D], out [B,Hq,T,D], lse [B,Hq,T]. Query t sits at
// position S-T+t. The forward walks key blocks with an online softmax (only a [Bq, Bk] score tile per task); the
// backward recomputes P from lse (FlashAttention-2) and runs one task per (b, kv head) so gk/gv need no locks.
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    private const int AttnBq = 64, AttnBk = 64, AttnPad = 16;

    public void Attention(Tensor q, Tensor k, Tensor v, float scale, Tensor output, Tensor lse) => Widened([q, k, v], [output, lse], (i, o) =>
    {
        if (IsF64(i[0])) AttentionT<double>(i[0], i[1], i[2], scale, o[0], o[1]); else AttentionT<float>(i[0], i[1], i[2], scale, o[0], o[1]);
    });

    private static T* Pin<T>(T[] a) where T : unmanaged => (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a));

    /// <summary>kt[bh, d, s] = k[bh, s, d], zero-padded to a multiple of AttnPad keys, so score tiles run full vectors.</summary>
    private static void TransposeKeys<T>(T* k, int s, int d, int sPad, T* kt) where T : unmanaged, INumberBase<T>
    {
        for (int j = 0; j < s; j++)
            for (int c = 0; c < d; c++) kt[(long)c * sPad + j] = k[(long)j * d + c];
        for (int c = 0; c < d; c++) new Span<T>(kt + (long)c * sPad + s, sPad - s).Clear();
    }

    private static void AttentionT<T>(Tensor qt, Tensor kt, Tensor vt, float scale, Tensor ot, Tensor lt) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = qt.Shape[0], hq = qt.Shape[1], t = qt.Shape[2], d = qt.Shape[3], hkv = kt.Shape[1], s = kt.Shape[2];
        if ((long)b * hq * t == 0) return;
        int group = hq / hkv, sPad = (s + AttnPad - 1) / AttnPad * AttnPad, nqb = (t + AttnBq - 1) / AttnBq;
        T* qp = (T*)Ptr(qt), kp = (T*)Ptr(kt), vp = (T*)Ptr(vt), op = (T*)Ptr(ot), lp = (T*)Ptr(lt);
        using var ktT = Tensor.Empty([b * hkv, d, sPad], ot.DType);
        T* ktp = (T*)Ptr(ktT);
        ParallelRows(b * hkv, (long)s * d, (r0, r1) =>
        {
            for (long bh = r0; bh < r1; bh++) TransposeKeys(kp + bh * s * d, s, d, sPad, ktp + bh * d * sPad);
        });
        int tasks = b * hq * nqb;
        long work = (long)tasks * AttnBq * s * d;
        var opts = new ParallelOptions { MaxDegreeOfParallelism = work < 1 << 16 ? 1 : CpuFeatures.MaxThreads };
        T sc = T.CreateTruncating(scale);
        Parallel.For(0, tasks, opts, () => GC.AllocateArray<T>(AttnBq * d * 2 + AttnBq * AttnBk + 2 * AttnBq, pinned: true), (task, _, scratch) =>
        {
            int qb = task % nqb, bh = task / nqb, bi = bh / hq, h = bh % hq, kvh = h / group;
            int i0 = qb * AttnBq, n = Math.Min(AttnBq, t - i0), off = s - t;
            T* qs = Pin(scratch), acc = qs + AttnBq * d, tile = acc + AttnBq * d, m = tile + AttnBq * AttnBk, l = m + AttnBq;
            long rowBase = ((long)bh * t + i0) * d;
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(qp + rowBase, n * d), sc, new Span<T>(qs, n * d));
            new Span<T>(acc, n * d).Clear();
            for (int r = 0; r < n; r++) { m[r] = T.NegativeInfinity; l[r] = T.Zero; }
            T* ktb = ktp + ((long)bi * hkv + kvh) * d * sPad, vb = vp + ((long)bi * hkv + kvh) * s * d;
            int keys = off + i0 + n; // keys visible to the last row of the block
            for (int kb = 0; kb < keys; kb += AttnBk)
            {
                int nk = Math.Min(AttnBk, keys - kb), nkPad = (nk + AttnPad - 1) / AttnPad * AttnPad;
                AttnMulBt(qs, d, n, d, ktb + kb, sPad, nkPad, tile, AttnBk);
                for (int r = 0; r < n; r++)
                {
                    var row = new Span<T>(tile + r * AttnBk, nk);
                    int vc = Math.Clamp(off + i0 + r - kb + 1, 0, nk);
                    if (vc == 0) { row.Clear(); continue; }
                    var valid = row[..vc];
                    T mNew = T.Max(m[r], TensorPrimitives.Max<T>(valid));
                    if (mNew != m[r])
                    {
                        T corr = T.Exp(m[r] - mNew);
                        l[r] *= corr;
                        var accRow = new Span<T>(acc + r * d, d);
                        TensorPrimitives.Multiply(accRow, corr, accRow);
                        m[r] = mNew;
                    }
                    TensorPrimitives.Subtract(valid, mNew, valid);
                    TensorPrimitives.Exp(valid, valid);
                    row[vc..].Clear();
                    l[r] += TensorPrimitives.Sum<T>(valid);
                }
                AttnAccRows(tile, AttnBk, 1, n, nk, vb + (long)kb * d, d, d, acc, d);
            }
            for (int r = 0; r < n; r++)
            {
                TensorPrimitives.Multiply(new ReadOnlySpan<T>(acc + r * d, d), T.One / l[r], new Span<T>(op + rowBase + (long)r * d, d));
                lp[(long)bh * t + i0 + r] = m[r] + T.Log(l[r]);
            }
            return scratch;
        }, _ => { });
    }

    /// <summary>c[r, 0:cols] = sum_d a[r, d] * bt[d, 0:cols] for r &lt; rows (bt laid out [kd, ldb]).</summary>
    private static void AttnMulBt<T>(T* a, int lda, int rows, int kd, T* bt, int ldb, int cols, T* c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && AttnKernels.TryMulBt((float*)a, lda, rows, kd, (float*)bt, ldb, cols, (float*)c, ldc)) return;
        // Plain loops: per-call overhead of TensorPrimitives on rows this short costs more than the arithmetic.
        for (int r = 0; r < rows; r++)
        {
            T* cr = c + (long)r * ldc;
            for (int j = 0; j < cols; j++) cr[j] = T.Zero;
            for (int i = 0; i < kd; i++)
            {
                T x = a[(long)r * lda + i];
                T* br = bt + (long)i * ldb;
                for (int j = 0; j < cols; j++) cr[j] += x * br[j];
            }
        }
    }

    /// <summary>o[r, 0:cols] += sum_i coef[r*rs + i*cs] * m[i, 0:cols] for r &lt; rows, i &lt; inner.</summary>
    private static void AttnAccRows<T>(T* coef, long rs, long cs, int rows, int inner, T* m, int ldm, int cols, T* o, int ldo) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && AttnKernels.TryAccRows((float*)coef, rs, cs, rows, inner, (float*)m, ldm, cols, (float*)o, ldo)) return;
        for (int r = 0; r < rows; r++)
        {
            T* orow = o + (long)r * ldo;
            for (int i = 0; i < inner; i++)
            {
                T w = coef[r * rs + i * cs];
                if (w == T.Zero) continue;
                T* mr = m + (long)i * ldm;
                for (int j = 0; j < cols; j++) orow[j] += w * mr[j];
            }
        }
    }
}
