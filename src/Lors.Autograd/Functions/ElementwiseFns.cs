// Elementwise functions: binary ops with broadcasting (gradients summed back to each input's shape),
// unary ops (gradient from the backend's UnaryBackward), affine scaling, and masking.
using Lors.Tensors;

namespace Lors.Autograd.Functions;

public sealed class BinaryFn(BinaryOp op) : Function
{
    // Sums and differences need only the gradient (and the inputs' shapes, which outlive their data).
    public override bool BackwardReadsInput(int index) => op is BinaryOp.Mul or BinaryOp.Div;
    public override bool BackwardReadsOutput => false;

    private Tensor _a = null!, _b = null!;

    protected override Tensor Forward(Tensor[] inputs)
    {
        if (op is not (BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul or BinaryOp.Div))
            throw new NotSupportedException($"BinaryFn: {op} has no gradient here");
        (_a, _b) = (inputs[0], inputs[1]);
        return Ops.Binary(op, _a, _b);
    }

    protected override Tensor?[] Backward(Tensor gy)
    {
        Tensor? ga = null, gb = null;
        if (NeedsInputGrad[0])
            ga = op switch
            {
                BinaryOp.Add or BinaryOp.Sub => gy.Contiguous(),
                BinaryOp.Mul => Ops.Mul(gy, _b),
                _ => Ops.Div(gy, _b),
            };
        if (NeedsInputGrad[1])
        {
            switch (op)
            {
                case BinaryOp.Add: gb = gy.Contiguous(); break;
                case BinaryOp.Sub: gb = Ops.Neg(gy); break;
                case BinaryOp.Mul: gb = Ops.Mul(gy, _a); break;
                default:
                    // d(a/b)/db = -a / b^2
                    using (var q = Ops.Div(_a, _b))
                    using (var q2 = Ops.Div(q, _b))
                    using (var t = Ops.Mul(gy, q2)) gb = Ops.Neg(t);
                    break;
            }
        }
        return [SumTo(ga, _a.Shape), SumTo(gb, _b.Shape)];
    }

    /// <summary>Sums a broadcast gradient back down to <paramref name="shape"/>.</summary>
    internal static Tensor? SumTo(Tensor? g, int[] shape)
    {
        if (g is null || g.Shape.AsSpan().SequenceEqual(shape)) return g;
        var cur = g;
        while (cur.Rank > shape.Length)
        {
            var next = Ops.Sum(cur, 0);
            cur.Dispose();
            cur = next;
        }
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1 && cur.Shape[d] != 1)
            {
                var next = Ops.Sum(cur, d, keepDim: true);
                cur.Dispose();
                cur = next;
            }
        }
        if (cur.DType != g.DType && g.DType != DType.F64) { var c = cur.To(g.DType.ComputeType()); cur.Dispose(); cur = c; }
        return cur;
    }
}

public sealed class UnaryFn(UnaryOp op) : Function
{
    public override bool BackwardReadsOutput => false;

    private Tensor _x = null!;

    protected override Tensor Forward(Tensor[] inputs)
    {
        _x = inputs[0];
        return Ops.Unary(op, _x);
    }

    protected override Tensor?[] Backward(Tensor gy) => [Ops.UnaryBackward(op, _x, gy)];
}

/// <summary>y = x * scale + shift.</summary>
public sealed class AffineFn(double scale, double shift) : Function
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput => false;

    protected override Tensor Forward(Tensor[] inputs) => Ops.Affine(inputs[0], scale, shift);
    protected override Tensor?[] Backward(Tensor gy) => [Ops.Scale(gy, scale)];
}

/// <summary>y = where(mask != 0, x, 0) with a constant mask (not differentiated).</summary>
public sealed class MaskFn(Tensor mask) : Function
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput => false;

    protected override Tensor Forward(Tensor[] inputs) => Ops.MaskedFill(inputs[0], mask);
    protected override Tensor?[] Backward(Tensor gy) => [Ops.MaskedFill(gy, mask)];
}

/// <summary>x in another float dtype (e.g. fp32 adapter weights beside bf16 activations); the gradient returns in x's dtype.</summary>
public sealed class CastFn(DType dtype) : Function
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput => false;

    private DType _from;

    protected override Tensor Forward(Tensor[] inputs)
    {
        _from = inputs[0].DType;
        return inputs[0].To(dtype);
    }

    protected override Tensor?[] Backward(Tensor gy) => [gy.To(_from)];
}
