// Shape functions: reshape and transpose/permute. Outputs are views (no copy); gradients are the inverse views.
using Lors.Tensors;

namespace Lors.Autograd.Functions;

public sealed class ReshapeFn(int[] shape) : Function
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput => false;

    private int[] _inShape = [];

    protected override Tensor Forward(Tensor[] inputs)
    {
        _inShape = inputs[0].Shape;
        return inputs[0].ReshapeOrCopy(shape);
    }

    protected override Tensor?[] Backward(Tensor gy) => [gy.ReshapeOrCopy(_inShape)];
}

public sealed class PermuteFn(int[] dims) : Function
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput => false;

    protected override Tensor Forward(Tensor[] inputs) => inputs[0].Permute(dims);

    protected override Tensor?[] Backward(Tensor gy)
    {
        var inverse = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) inverse[dims[i] < 0 ? dims[i] + dims.Length : dims[i]] = i;
        using var v = gy.Permute(inverse);
        return [v.Contiguous()];
    }
}

/// <summary>Rows [start, start+count) along dim 0 (a contiguous slab of a contiguous tensor).</summary>
public sealed class RowsFn(int start, int count) : Function
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput => false;

    private Tensor _x = null!;

    protected override Tensor Forward(Tensor[] inputs)
    {
        _x = inputs[0];
        return _x.Narrow(0, start, count);
    }

    protected override Tensor?[] Backward(Tensor gy)
    {
        var g = Tensor.Zeros(_x.Shape, gy.DType, gy.Device);
        using var slab = g.Narrow(0, start, count);
        Ops.CopyInto(gy, slab);
        return [g];
    }
}
