// Elementwise ops with broadcasting, fills, casts and masks.
namespace Lors.Tensors;

public static partial class Ops
{
    public static Tensor Unary(UnaryOp op, Tensor x)
    {
        CheckFloat($"Unary.{op}", x, "x");
        using var dx = D(x);
        var y = x.EmptyLike();
        x.Backend.Unary(op, dx, y);
        return y;
    }

    public static Tensor UnaryBackward(UnaryOp op, Tensor x, Tensor gy)
    {
        CheckSameShape($"UnaryBackward.{op}", x, gy, "x", "gy");
        var b = SameBackend($"UnaryBackward.{op}", x, gy);
        using var dx = D(x);
        using var dg = D(gy);
        var gx = gy.EmptyLike();
        b.UnaryBackward(op, dx, dg, gx);
        return gx;
    }

    public static Tensor Neg(Tensor x) => Unary(UnaryOp.Neg, x);
    public static Tensor Exp(Tensor x) => Unary(UnaryOp.Exp, x);
    public static Tensor Log(Tensor x) => Unary(UnaryOp.Log, x);
    public static Tensor Sqrt(Tensor x) => Unary(UnaryOp.Sqrt, x);
    public static Tensor Silu(Tensor x) => Unary(UnaryOp.Silu, x);
    public static Tensor Sigmoid(Tensor x) => Unary(UnaryOp.Sigmoid, x);
    public static Tensor Square(Tensor x) => Unary(UnaryOp.Square, x);
    public static Tensor Abs(Tensor x) => Unary(UnaryOp.Abs, x);

    public static Tensor Binary(BinaryOp op, Tensor a, Tensor b)
    {
        var name = $"Binary.{op}";
        CheckFloat(name, a, "a");
        CheckFloat(name, b, "b");
        var backend = SameBackend(name, a, b);
        var shape = BroadcastShape(name, a.Shape, b.Shape);
        var dtype = a.DType == b.DType ? a.DType : (a.DType == DType.F64 || b.DType == DType.F64 ? DType.F64 : DType.F32);
        using var ea = a.Expand(shape);
        using var eb = b.Expand(shape);
        var y = Tensor.Empty(shape, dtype, a.Device);
        backend.Binary(op, ea, eb, y);
        return y;
    }

    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, a, b);
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryOp.Sub, a, b);
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryOp.Mul, a, b);
    public static Tensor Div(Tensor a, Tensor b) => Binary(BinaryOp.Div, a, b);
    public static Tensor Maximum(Tensor a, Tensor b) => Binary(BinaryOp.Max, a, b);
    public static Tensor Minimum(Tensor a, Tensor b) => Binary(BinaryOp.Min, a, b);

    /// <summary>y = x * scale + shift.</summary>
    public static Tensor Affine(Tensor x, double scale, double shift = 0)
    {
        CheckFloat("Affine", x, "x");
        using var dx = D(x);
        var y = x.EmptyLike();
        x.Backend.Affine(dx, y, scale, shift);
        return y;
    }

    public static Tensor Scale(Tensor x, double scale) => Affine(x, scale, 0);

    /// <summary>In place: y += alpha * x. y must be contiguous.</summary>
    public static void AddInPlace(Tensor y, Tensor x, double alpha = 1)
    {
        CheckSameShape("AddInPlace", y, x, "y", "x");
        var b = SameBackend("AddInPlace", y, x);
        if (!y.IsContiguous) throw new ArgumentException($"AddInPlace: y {Tensor.ShapeString(y.Shape)} must be contiguous");
        using var dx = D(x);
        b.Axpy(dx, y, alpha);
    }

    /// <summary>In place: y *= scale. y must be contiguous.</summary>
    public static void ScaleInPlace(Tensor y, double scale)
    {
        if (!y.IsContiguous) throw new ArgumentException($"ScaleInPlace: y {Tensor.ShapeString(y.Shape)} must be contiguous");
        y.Backend.Affine(y, y, scale, 0);
    }

    public static void FillInPlace(Tensor y, double value)
    {
        if (!y.IsContiguous) throw new ArgumentException($"Fill: y {Tensor.ShapeString(y.Shape)} must be contiguous");
        y.Backend.Fill(y, value);
    }

    /// <summary>Copies src into dst (same shape, any dtypes); dst must be contiguous.</summary>
    public static void CopyInto(Tensor src, Tensor dst)
    {
        CheckSameShape("CopyInto", src, dst, "src", "dst");
        var b = SameBackend("CopyInto", src, dst);
        if (!dst.IsContiguous) throw new ArgumentException($"CopyInto: dst {Tensor.ShapeString(dst.Shape)} must be contiguous");
        b.Copy(src, dst);
    }

    /// <summary>where(mask != 0, x, 0).</summary>
    public static Tensor MaskedFill(Tensor x, Tensor mask)
    {
        CheckSameShape("MaskedFill", x, mask, "x", "mask");
        var b = SameBackend("MaskedFill", x, mask);
        using var dx = D(x);
        using var dm = D(mask);
        var y = x.EmptyLike();
        b.MaskedFill(dx, dm, y);
        return y;
    }

    /// <summary>U8 tensor: 1 where x != 0.</summary>
    public static Tensor NonZeroMask(Tensor x)
    {
        using var dx = D(x);
        var y = x.EmptyLike(DType.U8);
        x.Backend.NonZero(dx, y);
        return y;
    }

    public static Tensor RandomNormal(int[] shape, ulong seed, double mean = 0, double std = 1, DType dtype = DType.F32, Device? device = null)
    {
        var t = Tensor.Empty(shape, dtype, device);
        t.Backend.RandomNormal(t, seed, mean, std);
        return t;
    }

    public static Tensor RandomUniform(int[] shape, ulong seed, double low = 0, double high = 1, DType dtype = DType.F32, Device? device = null)
    {
        var t = Tensor.Empty(shape, dtype, device);
        t.Backend.RandomUniform(t, seed, low, high);
        return t;
    }
}
