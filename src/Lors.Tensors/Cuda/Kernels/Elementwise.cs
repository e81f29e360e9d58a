// Elementwise kernels: unary ops and their backward, broadcast binary ops over strided views, affine, axpy,
// masks. One thread per element; every float is computed in fp32 whatever its storage type.
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

internal static class ElementwiseKernels
{
    private static float Sigmoid(float x) => 1f / (1f + XMath.Exp(-x));

    public static float UnaryOf(int op, float x) => op switch
    {
        (int)UnaryOp.Neg => -x,
        (int)UnaryOp.Exp => XMath.Exp(x),
        (int)UnaryOp.Log => XMath.Log(x),
        (int)UnaryOp.Sqrt => XMath.Sqrt(x),
        (int)UnaryOp.Rsqrt => 1f / XMath.Sqrt(x),
        (int)UnaryOp.Abs => XMath.Abs(x),
        (int)UnaryOp.Square => x * x,
        (int)UnaryOp.Sigmoid => Sigmoid(x),
        (int)UnaryOp.Silu => x / (1f + XMath.Exp(-x)),
        (int)UnaryOp.Tanh => XMath.Tanh(x),
        (int)UnaryOp.Relu => x > 0f ? x : float.IsNaN(x) ? x : 0f,
        (int)UnaryOp.Sign => float.IsNaN(x) ? x : x > 0f ? 1f : x < 0f ? -1f : 0f,
        _ => 1f / x, // Reciprocal
    };

    public static void Unary(Index1D i, ArrayView<byte> x, ArrayView<byte> y, int dt, int op) =>
        Elem.St(y, dt, i, UnaryOf(op, Elem.Ld(x, dt, i)));

    public static void UnaryBackward(Index1D i, ArrayView<byte> x, ArrayView<byte> gy, ArrayView<byte> gx, int dt, int op)
    {
        float v = Elem.Ld(x, dt, i), g = Elem.Ld(gy, dt, i), r;
        switch (op)
        {
            case (int)UnaryOp.Neg: r = -g; break;
            case (int)UnaryOp.Exp: r = g * XMath.Exp(v); break;
            case (int)UnaryOp.Log: r = g / v; break;
            case (int)UnaryOp.Sqrt: r = g * 0.5f / XMath.Sqrt(v); break;
            case (int)UnaryOp.Rsqrt: r = -g * 0.5f / (v * XMath.Sqrt(v)); break;
            case (int)UnaryOp.Abs: r = v > 0f ? g : v < 0f ? -g : 0f; break;
            case (int)UnaryOp.Square: r = g * 2f * v; break;
            case (int)UnaryOp.Sigmoid: { float s = Sigmoid(v); r = g * s * (1f - s); break; }
            case (int)UnaryOp.Tanh:
            {
                // 1 - tanh^2 = sech^2 = 4u / (1 + u)^2 with u = exp(-2|x|) in (0, 1]: no cancellation, no fast tanh.
                float u = XMath.Exp(-2f * XMath.Abs(v)), d = 1f + u;
                r = float.IsNaN(v) ? v : g * (4f * u / (d * d));
                break;
            }
            case (int)UnaryOp.Reciprocal: r = -g / (v * v); break;
            case (int)UnaryOp.Relu: r = v > 0f ? g : 0f; break;
            case (int)UnaryOp.Silu: { float s = Sigmoid(v); r = g * s * (1f + v * (1f - s)); break; }
            default: r = 0f; break; // Sign
        }
        Elem.St(gx, dt, i, r);
    }

    public static float BinaryOf(int op, float a, float b) => op switch
    {
        (int)BinaryOp.Add => a + b,
        (int)BinaryOp.Sub => a - b,
        (int)BinaryOp.Mul => a * b,
        (int)BinaryOp.Div => a / b,
        (int)BinaryOp.Max => Elem.Max(a, b),
        (int)BinaryOp.Min => Elem.Min(a, b),
        _ => XMath.Pow(a, b),
    };

    /// <summary>y[i] = a[layout(i)] op b[layout(i)]; a and b are strided views (stride 0 on broadcast dims).</summary>
    public static void Binary(Index1D i, ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, Layout l, int op)
    {
        l.Offsets(i, out long oa, out long ob);
        Elem.St(y, l.TY, i, BinaryOf(op, Elem.Ld(a, l.TA, oa), Elem.Ld(b, l.TB, ob)));
    }

    public static void Affine(Index1D i, ArrayView<byte> x, ArrayView<byte> y, int dt, float scale, float shift) =>
        Elem.St(y, dt, i, Elem.Ld(x, dt, i) * scale + shift);

    public static void Axpy(Index1D i, ArrayView<byte> x, ArrayView<byte> y, int tx, int ty, float alpha) =>
        Elem.St(y, ty, i, Elem.Ld(x, tx, i) * alpha + Elem.Ld(y, ty, i));

    /// <summary>y = mask != 0 ? x : 0 (raw bits, so any dtype works); mask is U8 or any float type.</summary>
    public static void MaskedFill(Index1D i, ArrayView<byte> x, ArrayView<byte> mask, ArrayView<byte> y, int es, int maskDt)
    {
        bool keep = Elem.NonZeroBits(Elem.LdBits(mask, maskDt == Elem.U8 ? 1 : maskDt == Elem.F32 || maskDt == Elem.I32 ? 4 : maskDt == Elem.F64 ? 8 : 2, i), maskDt);
        Elem.StBits(y, es, i, keep ? Elem.LdBits(x, es, i) : 0UL);
    }

    public static void NonZero(Index1D i, ArrayView<byte> x, ArrayView<byte> y, int dt, int es) =>
        y[i] = Elem.NonZeroBits(Elem.LdBits(x, es, i), dt) ? (byte)1 : (byte)0;
}
