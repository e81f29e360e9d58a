// Fused cross-entropy over logits [N, V] with targets I32 [N]: per-row losses and lse [N] (F32, F64 for F64 logits),
// and the backward gLogits = scale * (softmax - onehot). Rows whose target is ignoreIndex give loss 0 and gradient 0.
using System.Numerics;
using System.Numerics.Tensors;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    private static void CheckTargets(string op, Tensor targets, int ignoreIndex, int v)
    {
        int n = targets.Shape[0];
        int* tp = I(targets);
        for (int i = 0; i < n; i++)
            if (tp[i] != ignoreIndex && (uint)tp[i] >= (uint)v)
                throw new ArgumentOutOfRangeException(nameof(targets), $"{op}: target {tp[i]} at row {i} is outside [0, {v}) (V = {v}) and is not the ignore index {ignoreIndex}");
    }

    public void CrossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor lse)
    {
        CheckTargets("CrossEntropy", targets, ignoreIndex, logits.Shape[1]);
        Widened([logits], [losses, lse], (i, o) =>
        {
            if (IsF64(i[0])) CrossEntropyT<double>(i[0], targets, ignoreIndex, o[0], o[1]);
            else CrossEntropyT<float>(i[0], targets, ignoreIndex, o[0], o[1]);
        });
    }

    private static void CrossEntropyT<T>(Tensor lt, Tensor targets, int ignoreIndex, Tensor losst, Tensor lset) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = lt.Shape[0], v = lt.Shape[1];
        T* xp = (T*)Ptr(lt), lp = (T*)Ptr(losst), sp = (T*)Ptr(lset);
        int* tp = I(targets);
        ParallelRows(n, v, (r0, r1) =>
        {
            Span<T> tmp = stackalloc T[256];
            for (long r = r0; r < r1; r++)
            {
                var x = new ReadOnlySpan<T>(xp + r * v, v);
                double max = v == 0 ? 0 : double.CreateTruncating(TensorPrimitives.Max(x));
                T m = T.CreateTruncating(max);
                double sum = 0;
                for (int i = 0; i < v; i += 256)
                {
                    int len = Math.Min(256, v - i);
                    TensorPrimitives.Subtract(x.Slice(i, len), m, tmp[..len]);
                    TensorPrimitives.Exp(tmp[..len], tmp[..len]);
                    sum += double.CreateTruncating(TensorPrimitives.Sum<T>(tmp[..len]));
                }
                double l = max + Math.Log(sum);
                sp[r] = T.CreateTruncating(l);
                int t = tp[r];
                lp[r] = t == ignoreIndex ? T.Zero : T.CreateTruncating(l - double.CreateTruncating(x[t]));
            }
        });
    }

    public void CrossEntropyBackward(Tensor logits, Tensor targets, Tensor lse, int ignoreIndex, float scale, Tensor gLogits)
    {
        CheckTargets("CrossEntropyBackward", targets, ignoreIndex, logits.Shape[1]);
        Widened([logits, lse], [gLogits], (i, o) =>
        {
            if (IsF64(i[0])) CrossEntropyBackwardT<double>(i[0], targets, i[1], ignoreIndex, scale, o[0]);
            else CrossEntropyBackwardT<float>(i[0], targets, i[1], ignoreIndex, scale, o[0]);
        });
    }

    private static void CrossEntropyBackwardT<T>(Tensor lt, Tensor targets, Tensor lset, int ignoreIndex, float scale, Tensor gt) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (lset.DType != lt.DType)
        {
            using var l2 = lset.To(lt.DType);
            CrossEntropyBackwardT<T>(lt, targets, l2, ignoreIndex, scale, gt);
            return;
        }
        int n = lt.Shape[0], v = lt.Shape[1];
        T* xp = (T*)Ptr(lt), sp = (T*)Ptr(lset), gp = (T*)Ptr(gt);
        int* tp = I(targets);
        T s = T.CreateTruncating(scale);
        ParallelRows(n, v, (r0, r1) =>
        {
            for (long r = r0; r < r1; r++)
            {
                var g = new Span<T>(gp + r * v, v);
                int t = tp[r];
                if (t == ignoreIndex) { g.Clear(); continue; }
                TensorPrimitives.Subtract(new ReadOnlySpan<T>(xp + r * v, v), sp[r], g);
                TensorPrimitives.Exp(g, g);
                TensorPrimitives.Multiply(g, s, g);
                g[t] -= s;
            }
        });
    }
}
