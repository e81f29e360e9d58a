// Backward of causal GQA attention (FlashAttention-2): P = exp(scale q k^T - lse) is recomputed per tile;
// dV += P^T dO, dP = dO V^T, dS = P (dP - rowsum(dO*O)) scale, dQ += dS K, dK += dS^T Q. One task per (b, kv head).
using System.Numerics;
using System.Numerics.Tensors;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>Backward tasks wanted at least (a few per core on small machines) before splitting kv groups.</summary>
    private const int AttnMinTasks = 8;

    public void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, Tensor gOut, float scale, Tensor gq, Tensor gk, Tensor gv) =>
        Widened([q, k, v, output, lse, gOut], [gq, gk, gv], (i, o) =>
        {
            if (IsF64(i[0])) AttentionBackwardT<double>(i[0], i[1], i[2], i[3], i[4], i[5], scale, o[0], o[1], o[2]);
            else AttentionBackwardT<float>(i[0], i[1], i[2], i[3], i[4], i[5], scale, o[0], o[1], o[2]);
        });

    private static void AttentionBackwardT<T>(Tensor qt, Tensor kt, Tensor vt, Tensor ot, Tensor lt, Tensor got, float scale, Tensor gqt, Tensor gkt, Tensor gvt)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = qt.Shape[0], hq = qt.Shape[1], t = qt.Shape[2], d = qt.Shape[3], hkv = kt.Shape[1], s = kt.Shape[2];
        if (lt.DType != qt.DType)
        {
            using var l2 = lt.To(qt.DType);
            AttentionBackwardT<T>(qt, kt, vt, ot, l2, got, scale, gqt, gkt, gvt);
            return;
        }
        new Span<T>(Ptr(gkt), (int)gkt.Numel).Clear();
        new Span<T>(Ptr(gvt), (int)gvt.Numel).Clear();
        if ((long)b * hq * t * d == 0) { new Span<T>(Ptr(gqt), (int)gqt.Numel).Clear(); return; }
        int group = hq / hkv, sPad = (s + AttnPad - 1) / AttnPad * AttnPad, nqb = (t + AttnBq - 1) / AttnBq, off = s - t;
        T* qp = (T*)Ptr(qt), kp = (T*)Ptr(kt), vp = (T*)Ptr(vt), op = (T*)Ptr(ot), lp = (T*)Ptr(lt), gop = (T*)Ptr(got);
        T* gqp = (T*)Ptr(gqt), gkp = (T*)Ptr(gkt), gvp = (T*)Ptr(gvt);
        T sc = T.CreateTruncating(scale);
        long work = (long)b * hq * t * s * d;
        // Fewer than AttnMinTasks (b, kv head) pairs: split each pair's (head, query block) items into interleaved
        // pieces with private gk/gv sums, added in piece order afterwards. The split depends only on the shapes,
        // so results do not depend on the thread count.
        int pairs = b * hkv, items = group * nqb;
        int splits = work < 1 << 20 ? 1 : Math.Min(items, (AttnMinTasks + pairs - 1) / pairs);
        using var parts = splits == 1 ? null : Tensor.Zeros([pairs * splits, s, d], gkt.DType);
        using var partsV = splits == 1 ? null : Tensor.Zeros([pairs * splits, s, d], gkt.DType);
        var opts = new ParallelOptions { MaxDegreeOfParallelism = work < 1 << 16 ? 1 : CpuFeatures.MaxThreads };
        Parallel.For(0, pairs * splits, opts, task =>
        {
            int pair = task / splits, piece = task % splits;
            // Per task: transposed K and V [D, sPad], the P and dS tiles [Bq, Bk], the row terms D_i [Bq].
            var scratch = GC.AllocateArray<T>(2 * d * sPad + 2 * AttnBq * AttnBk + AttnBq, pinned: true);
            T* ktp = Pin(scratch), vtp = ktp + (long)d * sPad, pt = vtp + (long)d * sPad, dst = pt + AttnBq * AttnBk, di = dst + AttnBq * AttnBk;
            int bi = pair / hkv, kvh = pair % hkv;
            long kvBase = (long)pair * s * d;
            TransposeKeys(kp + kvBase, s, d, sPad, ktp);
            TransposeKeys(vp + kvBase, s, d, sPad, vtp);
            T* kb0 = kp + kvBase;
            T* gk = splits == 1 ? gkp + kvBase : (T*)Ptr(parts!) + (long)task * s * d;
            T* gv = splits == 1 ? gvp + kvBase : (T*)Ptr(partsV!) + (long)task * s * d;
            for (int item = piece; item < items; item += splits)
            {
                int h = kvh * group + item / nqb, qb = item % nqb;
                {
                    int i0 = qb * AttnBq, n = Math.Min(AttnBq, t - i0);
                    long rowBase = (((long)bi * hq + h) * t + i0) * d;
                    T* qr = qp + rowBase, dor = gop + rowBase, gqr = gqp + rowBase;
                    T* lser = lp + ((long)bi * hq + h) * t + i0;
                    for (int r = 0; r < n; r++)
                        di[r] = TensorPrimitives.Dot(new ReadOnlySpan<T>(dor + (long)r * d, d), new ReadOnlySpan<T>(op + rowBase + (long)r * d, d));
                    new Span<T>(gqr, n * d).Clear();
                    int keys = off + i0 + n;
                    for (int kb = 0; kb < keys; kb += AttnBk)
                    {
                        int nk = Math.Min(AttnBk, keys - kb), nkPad = (nk + AttnPad - 1) / AttnPad * AttnPad;
                        AttnMulBt(qr, d, n, d, ktp + kb, sPad, nkPad, pt, AttnBk);
                        AttnMulBt(dor, d, n, d, vtp + kb, sPad, nkPad, dst, AttnBk);
                        for (int r = 0; r < n; r++)
                        {
                            var p = new Span<T>(pt + r * AttnBk, nk);
                            var ds = new Span<T>(dst + r * AttnBk, nk);
                            int vc = Math.Clamp(off + i0 + r - kb + 1, 0, nk);
                            var pv = p[..vc];
                            TensorPrimitives.Multiply(pv, sc, pv);
                            TensorPrimitives.Subtract(pv, lser[r], pv);
                            TensorPrimitives.Exp(pv, pv);
                            p[vc..].Clear();
                            // dS = P * (dP - D_i) * scale; zero where masked since P is.
                            TensorPrimitives.Subtract(ds, di[r], ds);
                            TensorPrimitives.Multiply(ds, p, ds);
                            TensorPrimitives.Multiply(ds, sc, ds);
                        }
                        AttnAccRows(pt, 1, AttnBk, nk, n, dor, d, d, gv + (long)kb * d, d);
                        AttnAccRows(dst, AttnBk, 1, n, nk, kb0 + (long)kb * d, d, d, gqr, d);
                        AttnAccRows(dst, 1, AttnBk, nk, n, qr, d, d, gk + (long)kb * d, d);
                    }
                }
            }
            GC.KeepAlive(scratch); // only raw pointers into it are used above: keep the pinned array from being collected
        });
        if (splits > 1)
        {
            T* pk = (T*)Ptr(parts!), pv = (T*)Ptr(partsV!);
            long sd = (long)s * d;
            for (int pair = 0; pair < pairs; pair++)
                for (int piece = 0; piece < splits; piece++)
                {
                    long src = ((long)pair * splits + piece) * sd;
                    var dk = new Span<T>(gkp + pair * sd, (int)sd);
                    var dv = new Span<T>(gvp + pair * sd, (int)sd);
                    TensorPrimitives.Add(dk, new ReadOnlySpan<T>(pk + src, (int)sd), dk);
                    TensorPrimitives.Add(dv, new ReadOnlySpan<T>(pv + src, (int)sd), dv);
                }
        }
    }
}
