// Pruning ops: keep-mask of the lowest scores per row [rows, n], SparseGPT's diagonal-block inverse Cholesky
// [k, k], and SparseGPT's column loop over one block of transposed weights [count, rows].
namespace Lors.Tensors;

public static partial class Ops
{
    /// <summary>U8 mask [rows, n]: 0 for the counts[r] lowest scores of row r (ties to the lower index), 1 elsewhere; counts [rows] or [1].</summary>
    public static Tensor MaskLowest(Tensor scores, Tensor counts)
    {
        CheckRank("MaskLowest", scores, 2, "scores");
        CheckRank("MaskLowest", counts, 1, "counts");
        if (scores.DType != DType.F32) throw new ArgumentException($"MaskLowest: scores must be f32, got {scores.DType.Name()}");
        if (counts.DType != DType.I32) throw new ArgumentException($"MaskLowest: counts must be i32, got {counts.DType.Name()}");
        if (counts.Shape[0] != scores.Shape[0] && counts.Shape[0] != 1)
            throw new ArgumentException($"MaskLowest: counts {Tensor.ShapeString(counts.Shape)} must have one entry per row of scores {Tensor.ShapeString(scores.Shape)} (or one for all rows)");
        var b = SameBackend("MaskLowest", scores, counts);
        using var ds = D(scores);
        using var dc = D(counts);
        var mask = Tensor.Empty(scores.Shape, DType.U8, scores.Device);
        b.MaskLowest(ds, dc, mask);
        return mask;
    }

    /// <summary>U = V^-1 for s = V V^T (V upper) written into u (rows may be strided); returns 0 or the failing pivot + 1.</summary>
    public static int InverseCholeskyBlock(Tensor s, Tensor u)
    {
        CheckRank("InverseCholeskyBlock", s, 2, "s");
        CheckSameShape("InverseCholeskyBlock", s, u, "s", "u");
        int k = s.Shape[0];
        if (s.Shape[1] != k) throw new ArgumentException($"InverseCholeskyBlock: s must be square, got {Tensor.ShapeString(s.Shape)}");
        if (k > 1024) throw new ArgumentException($"InverseCholeskyBlock: blocks of at most 1024 rows, got {k}");
        if (s.DType != DType.F32 || u.DType != DType.F32) throw new ArgumentException($"InverseCholeskyBlock: s and u must be f32, got {s.DType.Name()} and {u.DType.Name()}");
        if (k > 0 && u.Strides[1] != 1) throw new ArgumentException($"InverseCholeskyBlock: u must have unit column stride");
        var b = SameBackend("InverseCholeskyBlock", s, u);
        using var work = s.Contiguous(); // always a copy: the op destroys it
        using var info = Tensor.Zeros([1], DType.I32, s.Device);
        if (k == 0) return 0;
        b.InverseCholeskyBlock(work, u, info);
        return info.ToIntArray()[0];
    }

    /// <summary>SparseGPT's column loop on one block (see IBackend.SparseGptBlock); m = 0 takes the mask as input.</summary>
    public static void SparseGptBlock(Tensor wt, Tensor u, Tensor mask, Tensor err, Tensor loss, int n, int m)
    {
        const string op = "SparseGptBlock";
        CheckRank(op, wt, 2, "wt");
        int count = wt.Shape[0], rows = wt.Shape[1];
        foreach (var (t, name) in new[] { (wt, "wt"), (u, "u"), (mask, "mask"), (err, "err"), (loss, "loss") })
            if (!t.IsContiguous) throw new ArgumentException($"{op}: {name} {Tensor.ShapeString(t.Shape)} must be contiguous");
        if (!u.Shape.AsSpan().SequenceEqual([count, count])) throw new ArgumentException($"{op}: u {Tensor.ShapeString(u.Shape)} should be [{count}, {count}]");
        CheckSameShape(op, wt, mask, "wt", "mask");
        CheckSameShape(op, wt, err, "wt", "err");
        if (!loss.Shape.AsSpan().SequenceEqual([rows])) throw new ArgumentException($"{op}: loss {Tensor.ShapeString(loss.Shape)} should be [{rows}]");
        if (wt.DType != DType.F32 || u.DType != DType.F32 || err.DType != DType.F32 || loss.DType != DType.F32 || mask.DType != DType.U8)
            throw new ArgumentException($"{op}: wt, u, err, loss must be f32 and mask u8");
        if (m < 0 || (m > 0 && (n < 1 || n >= m || count % m != 0)))
            throw new ArgumentException($"{op}: N:M {n}:{m} does not fit a block of {count} columns");
        var b = SameBackend(op, wt, u, mask, err, loss);
        if (count == 0 || rows == 0) return;
        b.SparseGptBlock(wt, u, mask, err, loss, n, m);
    }
}
