// Shape functions: reshape and transpose/permute. Outputs are views (no copy); gradients are the inverse views.
using Lors.Tensors;

namespace Lors.Autograd.Functions;

public sealed class ReshapeFn(int[] shape) : Function
{
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
    protected override Tensor Forward(Tensor[] inputs) => inputs[0].Permute(dims);

    protected override Tensor?[] Backward(Tensor gy)
    {
        var inverse = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++) inverse[dims[i] < 0 ? dims[i] + dims.Length : dims[i]] = i;
        using var v = gy.Permute(inverse);
        return [v.Contiguous()];
    }
}
