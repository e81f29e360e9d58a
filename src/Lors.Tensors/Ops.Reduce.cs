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

    /// <summary>
    /// Non-zero elements of x, counted on its device: the 0/1 mask is summed per row of 4096 elements in fp32 (exact) and
    /// the row sums are added on the host in 64 bits, so on a GPU only numel / 4096 floats come back.
    /// </summary>
    public static long CountNonZero(Tensor x)
    {
        const int Row = 4096;
        using var mask = NonZeroMask(x);
        using var f = mask.To(DType.F32);
        using var flat = f.Reshape(-1);
        int n = checked((int)f.Numel), full = n / Row * Row;
        long count = 0;
        if (full > 0)
        {
            using var head = flat.Narrow(0, 0, full);
            using var block = head.Reshape(full / Row, Row);
            using var rows = Sum(block, 1);
            foreach (var v in rows.ToFloatArray()) count += (long)v;
        }
        if (full < n)
        {
            using var tail = flat.Narrow(0, full, n - full);
            foreach (var v in tail.ToFloatArray()) count += (long)v;
        }
        return count;
    }

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
