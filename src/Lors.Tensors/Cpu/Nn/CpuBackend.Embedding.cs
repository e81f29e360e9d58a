// Embedding gather y [N, C] = table[ids [N], :] (table [V, C]) and its scatter-add backward into gTable [V, C].
// The backward splits the columns among threads, so each element's sum runs in id order: deterministic.
using System.Numerics;
using System.Numerics.Tensors;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    private static void CheckIds(string op, Tensor ids, int v)
    {
        int n = ids.Shape[0];
        int* ip = I(ids);
        for (int i = 0; i < n; i++)
            if ((uint)ip[i] >= (uint)v)
                throw new ArgumentOutOfRangeException(nameof(ids), $"{op}: id {ip[i]} at position {i} is outside [0, {v}) (vocabulary size V = {v})");
    }

    public void Embedding(Tensor ids, Tensor table, Tensor y)
    {
        int n = ids.Shape[0], v = table.Shape[0], c = table.Shape[1];
        CheckIds("Embedding", ids, v);
        int* ip = I(ids);
        byte* tp = Ptr(table), yp = Ptr(y);
        int es = table.DType.Size(), ey = y.DType.Size();
        var st = table.DType;
        var dt = y.DType;
        ParallelRows(n, c, (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
                Convert.Run(tp + (long)ip[r] * c * es, st, yp + r * c * ey, dt, c);
        });
    }

    public void EmbeddingBackward(Tensor ids, Tensor gy, Tensor gTable)
    {
        CheckIds("EmbeddingBackward", ids, gTable.Shape[0]);
        Widened([gy, gTable], [gTable], (i, o) =>
        {
            if (IsF64(o[0])) EmbeddingBackwardT<double>(ids, i[0], o[0]); else EmbeddingBackwardT<float>(ids, i[0], o[0]);
        });
    }

    private static void EmbeddingBackwardT<T>(Tensor ids, Tensor gyt, Tensor gtt) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (gyt.DType != gtt.DType)
        {
            using var g = gyt.To(gtt.DType);
            EmbeddingBackwardT<T>(ids, g, gtt);
            return;
        }
        int n = ids.Shape[0], c = gtt.Shape[1];
        int* ip = I(ids);
        T* gp = (T*)Ptr(gyt), tp = (T*)Ptr(gtt);
        ParallelRows(c, n, (c0, c1) =>
        {
            int len = (int)(c1 - c0);
            for (long r = 0; r < n; r++)
            {
                var dst = new Span<T>(tp + (long)ip[r] * c + c0, len);
                TensorPrimitives.Add(dst, new ReadOnlySpan<T>(gp + r * c + c0, len), dst);
            }
        });
    }
}
