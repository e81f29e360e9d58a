// y = op(a) @ op(b), 2-D or batched. Backward: ga = gy op(b)^T, gb = op(a)^T gy (with the transposes folded in).
using Lors.Tensors;

namespace Lors.Autograd.Functions;

public sealed class MatMulFn(bool transA, bool transB) : Function
{
    public override bool BackwardReadsOutput => false;

    private Tensor _a = null!, _b = null!;

    protected override Tensor Forward(Tensor[] inputs)
    {
        (_a, _b) = (inputs[0], inputs[1]);
        return Ops.MatMul(_a, _b, transA, transB);
    }

    protected override Tensor?[] Backward(Tensor gy)
    {
        Tensor? ga = null, gb = null;
        if (NeedsInputGrad[0])
        {
            // a = [M,K]: ga = gy @ op(b)^T; a stored transposed ([K,M]): ga = op(b) @ gy^T.
            ga = transA ? Ops.MatMul(_b, gy, transB, true) : Ops.MatMul(gy, _b, false, !transB);
            ga = ReduceBatch(ga, _a);
        }
        if (NeedsInputGrad[1])
        {
            gb = transB ? Ops.MatMul(gy, _a, true, transA) : Ops.MatMul(_a, gy, !transA, false);
            gb = ReduceBatch(gb, _b);
        }
        return [ga, gb];
    }

    /// <summary>A 2-D operand broadcast over a batch gets the sum of the per-batch gradients.</summary>
    private static Tensor ReduceBatch(Tensor g, Tensor operand)
    {
        if (g.Rank == operand.Rank) return g;
        var s = Ops.Sum(g, 0);
        g.Dispose();
        return s;
    }
}

/// <summary>y = x @ w^T for x [..., in] and w [out, in] (the layout of Hugging Face linear weights).</summary>
public sealed class LinearFn : Function
{
    public override bool BackwardReadsOutput => false;

    private Tensor _x = null!, _w = null!;

    protected override Tensor Forward(Tensor[] inputs)
    {
        (_x, _w) = (inputs[0], inputs[1]);
        return Product(_x, _w);
    }

    /// <summary>x [..., in] @ w^T [in, out] as [..., out] (x viewed as 2-D; copied only if strided).</summary>
    public static Tensor Product(Tensor x, Tensor w)
    {
        using var x2 = x.ReshapeOrCopy(-1, x.Shape[^1]);
        using var y2 = Ops.MatMul(x2, w, false, true);
        return y2.Reshape([.. x.Shape[..^1], w.Shape[0]]);
    }

    protected override Tensor?[] Backward(Tensor gy)
    {
        using var g2 = gy.ReshapeOrCopy(-1, gy.Shape[^1]);
        Tensor? gx = null, gw = null;
        if (NeedsInputGrad[0])
        {
            using var gx2 = Ops.MatMul(g2, _w);
            gx = gx2.Reshape(_x.Shape);
        }
        if (NeedsInputGrad[1])
        {
            using var x2 = _x.ReshapeOrCopy(-1, _x.Shape[^1]);
            gw = Ops.MatMul(g2, x2, true, false);
        }
        return [gx, gw];
    }
}
