// Matrix products: 2-D and batched, either operand transposed, alpha/beta accumulation.
namespace Lors.Tensors;

public static partial class Ops
{
    /// <summary>op(a) @ op(b) into a new tensor. a [M,K] or [B,M,K]; b [K,N] or [B,K,N] (before op).</summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transA = false, bool transB = false, DType? outType = null)
    {
        var (batch, m, n, _) = MatMulShape(a, b, transA, transB);
        var shape = batch > 0 ? new[] { batch, m, n } : new[] { m, n };
        var dt = outType ?? (a.DType == DType.F64 && b.DType == DType.F64 ? DType.F64 : a.Device.IsCpu ? DType.F32 : a.DType);
        var c = Tensor.Empty(shape, dt, a.Device);
        MatMulInto(a, b, c, transA, transB, 1f, 0f);
        return c;
    }

    /// <summary>c = alpha op(a) op(b) + beta c, with c contiguous.</summary>
    public static void MatMulInto(Tensor a, Tensor b, Tensor c, bool transA = false, bool transB = false, float alpha = 1f, float beta = 0f)
    {
        var backend = SameBackend("MatMul", a, b, c);
        var (batch, m, n, _) = MatMulShape(a, b, transA, transB);
        var expect = batch > 0 ? new[] { batch, m, n } : new[] { m, n };
        if (!c.Shape.AsSpan().SequenceEqual(expect))
            throw new ArgumentException($"MatMul: output {Tensor.ShapeString(c.Shape)} should be {Tensor.ShapeString(expect)} for a {Tensor.ShapeString(a.Shape)}{(transA ? "^T" : "")} @ b {Tensor.ShapeString(b.Shape)}{(transB ? "^T" : "")}");
        if (!c.IsContiguous) throw new ArgumentException($"MatMul: output {Tensor.ShapeString(c.Shape)} must be contiguous");
        // A transposed view of a contiguous matrix is passed as the storage plus a flipped flag, not copied.
        var (da, ta, ownA) = AsGemmOperand(a, transA);
        var (db, tb, ownB) = AsGemmOperand(b, transB);
        try { backend.MatMul(da, ta, db, tb, c, alpha, beta); }
        finally
        {
            if (ownA) da.Dispose();
            if (ownB) db.Dispose();
        }
    }

    private static (Tensor t, bool trans, bool owned) AsGemmOperand(Tensor t, bool trans)
    {
        if (t.IsContiguous) return (t, trans, false);
        int r = t.Rank;
        // [.., X, Y] whose last two dims are swapped views of contiguous storage.
        if (r >= 2 && t.Strides[r - 2] == 1 && t.Strides[r - 1] == t.Shape[r - 2] && (r == 2 || t.Strides[0] == (long)t.Shape[1] * t.Shape[2]))
        {
            var swapped = t.Transpose(r - 2, r - 1);
            if (swapped.IsContiguous) return (swapped, !trans, true);
            swapped.Dispose();
        }
        return (t.Contiguous(), trans, true);
    }

    private static (int batch, int m, int n, int k) MatMulShape(Tensor a, Tensor b, bool transA, bool transB)
    {
        if (a.Rank is < 2 or > 3 || b.Rank is < 2 or > 3)
            throw new ArgumentException($"MatMul: operands must be 2-D or 3-D, got a {Tensor.ShapeString(a.Shape)} and b {Tensor.ShapeString(b.Shape)}");
        int m = transA ? a.Shape[^1] : a.Shape[^2];
        int ka = transA ? a.Shape[^2] : a.Shape[^1];
        int kb = transB ? b.Shape[^1] : b.Shape[^2];
        int n = transB ? b.Shape[^2] : b.Shape[^1];
        if (ka != kb)
            throw new ArgumentException($"MatMul: inner dimensions differ: a {Tensor.ShapeString(a.Shape)}{(transA ? "^T" : "")} has K={ka}, b {Tensor.ShapeString(b.Shape)}{(transB ? "^T" : "")} has K={kb}");
        int batch = 0;
        if (a.Rank == 3) batch = a.Shape[0];
        if (b.Rank == 3)
        {
            if (batch != 0 && batch != b.Shape[0])
                throw new ArgumentException($"MatMul: batch sizes differ: a {Tensor.ShapeString(a.Shape)}, b {Tensor.ShapeString(b.Shape)}");
            batch = b.Shape[0];
        }
        return (batch, m, n, ka);
    }
}
