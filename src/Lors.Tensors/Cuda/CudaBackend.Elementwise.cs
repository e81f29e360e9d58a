// Elementwise ops on CUDA: unary and its backward, broadcast binary over strided views, affine, axpy, masks.
using ILGPU;
using ILGPU.Runtime;
using Lors.Tensors.Cuda.Kernels;

namespace Lors.Tensors.Cuda;

public sealed partial class CudaBackend
{
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, int, int>? _kUnary;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int, int>? _kUnaryBack;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, Layout, int>? _kBinary;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, int, float, float>? _kAffine;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, int, int, float>? _kAxpy;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int, int>? _kMaskedFill;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, int, int>? _kNonZero;

    public void Unary(UnaryOp op, Tensor x, Tensor y)
    {
        string name = $"Unary.{op}";
        int dt = Ft(name, x), n = Count(name, x.Numel);
        if (y.DType != x.DType) throw new ArgumentException($"{name}: y is {y.DType.Name()}, x is {x.DType.Name()}");
        if (n == 0) return;
        var xv = Bytes(x); var yv = Bytes(y);
        Run(name, () => (_kUnary ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, int, int>(ElementwiseKernels.Unary))(n, xv, yv, dt, (int)op));
    }

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor gy, Tensor gx)
    {
        string name = $"UnaryBackward.{op}";
        int dt = Ft(name, x), n = Count(name, x.Numel);
        if (gy.DType != x.DType || gx.DType != x.DType)
            throw new ArgumentException($"{name}: x, gy and gx must share a dtype, got {x.DType.Name()}, {gy.DType.Name()}, {gx.DType.Name()}");
        if (n == 0) return;
        var xv = Bytes(x); var gv = Bytes(gy); var ov = Bytes(gx);
        Run(name, () => (_kUnaryBack ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int, int>(ElementwiseKernels.UnaryBackward))(n, xv, gv, ov, dt, (int)op));
    }

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        string name = $"Binary.{op}";
        int ta = Ft(name, a), tb = Ft(name, b), ty = Ft(name, y), n = Count(name, y.Numel);
        if (n == 0) return;
        var l = Layout.Make(name, y.Shape, a.Strides, a.Offset, b.Strides, b.Offset);
        l.TA = ta; l.TB = tb; l.TY = ty;
        var av = Store(a).View; var bv = Store(b).View; var yv = Bytes(y);
        Run(name, () => (_kBinary ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, Layout, int>(ElementwiseKernels.Binary))(n, av, bv, yv, l, (int)op));
    }

    public void Affine(Tensor x, Tensor y, double scale, double shift)
    {
        int dt = Ft("Affine", x), n = Count("Affine", x.Numel);
        if (y.DType != x.DType) throw new ArgumentException($"Affine: y is {y.DType.Name()}, x is {x.DType.Name()}");
        if (n == 0) return;
        var xv = Bytes(x); var yv = Bytes(y);
        Run("Affine", () => (_kAffine ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, int, float, float>(ElementwiseKernels.Affine))(n, xv, yv, dt, (float)scale, (float)shift));
    }

    public void Axpy(Tensor x, Tensor y, double alpha)
    {
        int tx = Ft("Axpy", x), ty = Ft("Axpy", y), n = Count("Axpy", x.Numel);
        if (n == 0) return;
        var xv = Bytes(x); var yv = Bytes(y);
        Run("Axpy", () => (_kAxpy ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, int, int, float>(ElementwiseKernels.Axpy))(n, xv, yv, tx, ty, (float)alpha));
    }

    public void MaskedFill(Tensor x, Tensor mask, Tensor y)
    {
        int n = Count("MaskedFill", x.Numel);
        if (n == 0) return;
        var xv = Bytes(x); var mv = Bytes(mask); var yv = Bytes(y);
        int es = x.DType.Size(), mt = (int)mask.DType;
        Run("MaskedFill", () => (_kMaskedFill ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int, int>(ElementwiseKernels.MaskedFill))(n, xv, mv, yv, es, mt));
    }

    public void NonZero(Tensor x, Tensor y)
    {
        int n = Count("NonZero", x.Numel);
        if (n == 0) return;
        var xv = Bytes(x); var yv = Bytes(y);
        int dt = (int)x.DType, es = x.DType.Size();
        Run("NonZero", () => (_kNonZero ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, int, int>(ElementwiseKernels.NonZero))(n, xv, yv, dt, es));
    }
}
