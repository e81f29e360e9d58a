// Reductions over one axis (and over everything), argmax.
namespace Lors.Tensors;

public static partial class Ops
{
    public static Tensor Reduce(ReduceOp op, Tensor x, int axis, bool keepDim = false)
    {
        int d = Tensor.NormalizeDim(axis, x.Rank, $"Reduce.{op}");
        CheckFloat($"Reduce.{op}", x, "x");
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= x.Shape[i];
        for (int i = d + 1; i < x.Rank; i++) inner *= x.Shape[i];
        var shape = x.Shape.ToList();
        if (keepDim) shape[d] = 1; else shape.RemoveAt(d);
        using var dx = D(x);
        var y = Tensor.Empty(shape.ToArray(), StatType(x), x.Device);
        x.Backend.Reduce(op, dx, outer, x.Shape[d], inner, y);
        return y;
    }

    public static Tensor Sum(Tensor x, int axis, bool keepDim = false) => Reduce(ReduceOp.Sum, x, axis, keepDim);
    public static Tensor Mean(Tensor x, int axis, bool keepDim = false) => Reduce(ReduceOp.Mean, x, axis, keepDim);
    public static Tensor Max(Tensor x, int axis, bool keepDim = false) => Reduce(ReduceOp.Max, x, axis, keepDim);

    /// <summary>Sum of all elements as a one-element tensor (shape []).</summary>
    public static Tensor SumAll(Tensor x) => ReduceAll(ReduceOp.Sum, x);
    public static Tensor MeanAll(Tensor x) => ReduceAll(ReduceOp.Mean, x);
    public static Tensor SumSquaresAll(Tensor x) => ReduceAll(ReduceOp.SumSquares, x);

    private static Tensor ReduceAll(ReduceOp op, Tensor x)
    {
        CheckFloat($"Reduce.{op}", x, "x");
        using var dx = D(x);
        var y = Tensor.Empty([], StatType(x), x.Device);
        x.Backend.Reduce(op, dx, 1, checked((int)x.Numel), 1, y);
        return y;
    }

    /// <summary>Index of the maximum over the last axis: x [..., n] gives I32 [...].</summary>
    public static Tensor ArgMax(Tensor x)
    {
        CheckFloat("ArgMax", x, "x");
        if (x.Rank == 0) throw new ArgumentException("ArgMax: needs at least one dimension");
        int n = x.Shape[^1];
        using var dx = D(x);
        using var x2 = dx.T.Reshape(-1, n);
        var y = Tensor.Empty(x.Shape[..^1], DType.I32, x.Device);
        using var y1 = y.Reshape(x2.Shape[0]);
        x.Backend.ArgMax(x2, y1);
        return y;
    }
}
