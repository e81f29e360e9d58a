// Elementwise kernels. F32 and F64 run the same generic code (TensorPrimitives vectorizes both);
// BF16/F16 tensors are widened to F32, computed, and narrowed back.
using System.Numerics;
using System.Numerics.Tensors;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>Runs <paramref name="body"/> on F32 copies of low-precision tensors; outputs are copied back.</summary>
    internal void Widened(Tensor[] inputs, Tensor[] outputs, Action<Tensor[], Tensor[]> body)
    {
        bool low = inputs.Concat(outputs).Any(t => t.DType is DType.BF16 or DType.F16);
        if (!low) { body(inputs, outputs); return; }
        var wi = inputs.Select(t => t.DType is DType.BF16 or DType.F16 ? t.To(DType.F32) : t).ToArray();
        // An output that is also an input (accumulated into, e.g. Axpy's y) reuses the widened input copy,
        // so the body sees its current values rather than an uninitialized buffer.
        var wo = outputs.Select(t =>
        {
            int k = Array.IndexOf(inputs, t);
            return k >= 0 ? wi[k] : t.DType is DType.BF16 or DType.F16 ? Tensor.Empty(t.Shape, DType.F32) : t;
        }).ToArray();
        try
        {
            body(wi, wo);
            for (int i = 0; i < outputs.Length; i++) if (wo[i] != outputs[i]) Copy(wo[i], outputs[i]);
        }
        finally
        {
            for (int i = 0; i < inputs.Length; i++) if (wi[i] != inputs[i]) wi[i].Dispose();
            for (int i = 0; i < outputs.Length; i++) if (wo[i] != outputs[i] && Array.IndexOf(wi, wo[i]) < 0) wo[i].Dispose();
        }
    }

    /// <summary>Splits [0, n) into per-thread chunks; small n runs inline.</summary>
    internal static void Chunks(long n, Action<int, int> body)
    {
        if (n <= 0) return; // TensorPrimitives rejects some empty spans (Sigmoid): nothing to do anyway
        int parts = n < 1 << 15 ? 1 : CpuFeatures.MaxThreads;
        if (parts == 1) { body(0, (int)n); return; }
        Parallel.For(0, parts, p => body((int)(n * p / parts), (int)(n * (p + 1) / parts)));
    }

    public void Unary(UnaryOp op, Tensor x, Tensor y) => Widened([x], [y], (i, o) =>
    {
        if (i[0].DType == DType.F64) UnaryT<double>(op, i[0], o[0]); else UnaryT<float>(op, i[0], o[0]);
    });

    private static void UnaryT<T>(UnaryOp op, Tensor xt, Tensor yt) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* xp = (T*)Ptr(xt), yp = (T*)Ptr(yt);
        Chunks(xt.Numel, (a, b) =>
        {
            var x = new ReadOnlySpan<T>(xp + a, b - a);
            var y = new Span<T>(yp + a, b - a);
            switch (op)
            {
                case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
                case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
                case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
                case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
                case UnaryOp.Rsqrt: TensorPrimitives.ReciprocalSqrt(x, y); break;
                case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
                case UnaryOp.Square: TensorPrimitives.Multiply(x, x, y); break;
                case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
                case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); break;
                case UnaryOp.Reciprocal: TensorPrimitives.Reciprocal(x, y); break;
                case UnaryOp.Relu: TensorPrimitives.Max(x, T.Zero, y); break;
                case UnaryOp.Silu:
                    for (int k = 0; k < x.Length; k++) y[k] = x[k] / (T.One + T.Exp(-x[k]));
                    break;
                case UnaryOp.Sign:
                    for (int k = 0; k < x.Length; k++) y[k] = T.IsNaN(x[k]) ? x[k] : T.CreateTruncating(T.Sign(x[k]));
                    break;
                default: throw new NotSupportedException($"Unary: {op}");
            }
        });
    }

    public void UnaryBackward(UnaryOp op, Tensor x, Tensor gy, Tensor gx) => Widened([x, gy], [gx], (i, o) =>
    {
        if (i[0].DType == DType.F64) UnaryBackwardT<double>(op, i[0], i[1], o[0]); else UnaryBackwardT<float>(op, i[0], i[1], o[0]);
    });

    private static void UnaryBackwardT<T>(UnaryOp op, Tensor xt, Tensor gyt, Tensor gxt) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* xp = (T*)Ptr(xt), gp = (T*)Ptr(gyt), op_ = (T*)Ptr(gxt);
        T two = T.One + T.One, half = T.One / two;
        Chunks(xt.Numel, (a, b) =>
        {
            for (int k = a; k < b; k++)
            {
                T x = xp[k], g = gp[k];
                op_[k] = op switch
                {
                    UnaryOp.Neg => -g,
                    UnaryOp.Exp => g * T.Exp(x),
                    UnaryOp.Log => g / x,
                    UnaryOp.Sqrt => g * half / T.Sqrt(x),
                    UnaryOp.Rsqrt => -g * half / (x * T.Sqrt(x)),
                    UnaryOp.Abs => x > T.Zero ? g : x < T.Zero ? -g : T.Zero,
                    UnaryOp.Square => g * two * x,
                    UnaryOp.Sigmoid => g * Sig(x) * (T.One - Sig(x)),
                    UnaryOp.Tanh => g * (T.One - T.Tanh(x) * T.Tanh(x)),
                    UnaryOp.Reciprocal => -g / (x * x),
                    UnaryOp.Relu => x > T.Zero ? g : T.Zero,
                    UnaryOp.Silu => g * Sig(x) * (T.One + x * (T.One - Sig(x))),
                    UnaryOp.Sign => T.Zero,
                    _ => throw new NotSupportedException($"UnaryBackward: {op}"),
                };
            }
        });
    }

    internal static T Sig<T>(T x) where T : IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));

    public void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        // Fast path: both operands contiguous and same type as y. Otherwise materialize the broadcast views.
        bool direct = a.IsContiguous && b.IsContiguous && a.DType == y.DType && b.DType == y.DType && y.DType is DType.F32 or DType.F64;
        if (!direct)
        {
            using var ca = Tensor.Empty(a.Shape, y.DType.ComputeType());
            using var cb = Tensor.Empty(b.Shape, y.DType.ComputeType());
            Copy(a, ca);
            Copy(b, cb);
            if (y.DType is DType.F32 or DType.F64) { Binary(op, ca, cb, y); return; }
            using var cy = Tensor.Empty(y.Shape, DType.F32);
            Binary(op, ca, cb, cy);
            Copy(cy, y);
            return;
        }
        if (y.DType == DType.F64) BinaryT<double>(op, a, b, y); else BinaryT<float>(op, a, b, y);
    }

    private static void BinaryT<T>(BinaryOp op, Tensor at, Tensor bt, Tensor yt) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* ap = (T*)Ptr(at), bp = (T*)Ptr(bt), yp = (T*)Ptr(yt);
        Chunks(yt.Numel, (s, e) =>
        {
            var a = new ReadOnlySpan<T>(ap + s, e - s);
            var b = new ReadOnlySpan<T>(bp + s, e - s);
            var y = new Span<T>(yp + s, e - s);
            switch (op)
            {
                case BinaryOp.Add: TensorPrimitives.Add(a, b, y); break;
                case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, y); break;
                case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, y); break;
                case BinaryOp.Div: TensorPrimitives.Divide(a, b, y); break;
                case BinaryOp.Max: TensorPrimitives.Max(a, b, y); break;
                case BinaryOp.Min: TensorPrimitives.Min(a, b, y); break;
                case BinaryOp.Pow: TensorPrimitives.Pow(a, b, y); break;
                default: throw new NotSupportedException($"Binary: {op}");
            }
        });
    }

    public void Affine(Tensor x, Tensor y, double scale, double shift) => Widened([x], [y], (i, o) =>
    {
        if (i[0].DType == DType.F64) AffineT(i[0], o[0], scale, shift); else AffineT(i[0], o[0], (float)scale, (float)shift);
    });

    private static void AffineT<T>(Tensor xt, Tensor yt, T scale, T shift) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* xp = (T*)Ptr(xt), yp = (T*)Ptr(yt);
        Chunks(xt.Numel, (a, b) =>
        {
            var y = new Span<T>(yp + a, b - a);
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(xp + a, b - a), scale, y);
            if (shift != T.Zero) TensorPrimitives.Add(y, shift, y);
        });
    }

    public void Axpy(Tensor x, Tensor y, double alpha) => Widened([x, y], [y], (i, o) =>
    {
        if (o[0].DType == DType.F64) AxpyT(i[0], o[0], alpha); else AxpyT(i[0], o[0], (float)alpha);
    });

    private static void AxpyT<T>(Tensor xt, Tensor yt, T alpha) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* xp = (T*)Ptr(xt), yp = (T*)Ptr(yt);
        Chunks(xt.Numel, (a, b) =>
        {
            var y = new Span<T>(yp + a, b - a);
            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(xp + a, b - a), alpha, y, y);
        });
    }

    public void MaskedFill(Tensor x, Tensor mask, Tensor y)
    {
        using var m = mask.DType == DType.U8 ? null : Tensor.Empty(mask.Shape, DType.U8);
        if (m is not null) NonZero(mask, m);
        byte* mp = Ptr(m ?? mask);
        int es = x.DType.Size();
        byte* xp = Ptr(x), yp = Ptr(y);
        Chunks(x.Numel, (a, b) =>
        {
            for (long k = a; k < b; k++)
                if (mp[k] != 0) Buffer.MemoryCopy(xp + k * es, yp + k * es, es, es);
                else new Span<byte>(yp + k * es, es).Clear();
        });
    }

    public void NonZero(Tensor x, Tensor y)
    {
        byte* xp = Ptr(x), yp = Ptr(y);
        var dt = x.DType;
        Chunks(x.Numel, (a, b) =>
        {
            for (long k = a; k < b; k++) yp[k] = dt switch
            {
                DType.F32 => ((float*)xp)[k] != 0f ? (byte)1 : (byte)0,
                DType.F64 => ((double*)xp)[k] != 0.0 ? (byte)1 : (byte)0,
                DType.BF16 or DType.F16 => (((ushort*)xp)[k] & 0x7FFF) != 0 ? (byte)1 : (byte)0,
                DType.I32 => ((int*)xp)[k] != 0 ? (byte)1 : (byte)0,
                _ => xp[k] != 0 ? (byte)1 : (byte)0,
            };
        });
    }
}
