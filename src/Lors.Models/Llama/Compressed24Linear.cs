// A frozen linear whose 2:4 weight [out, in] is held compressed (values [out, in/2] + metadata, 0.5625x the bytes).
// Forward y = x W^T and backward gx = gy W decompress W into one transient dense scratch per product, freed at once,
// so no dense copy of W outlives a call. The weight has no Variable: read it with Dense(), or restore a dense Linear.
using Lors.Autograd;
using Lors.Tensors;

namespace Lors.Models.Llama;

public sealed class Compressed24Linear : ILinear, IDisposable
{
    public Compressed24Linear(string name, Sparse24Weight weight)
    {
        Name = name;
        Compressed = weight;
    }

    /// <summary>Compresses a dense 2:4 weight (throws naming the first group that is not 2:4); the dense tensor is not disposed.</summary>
    public static Compressed24Linear FromDense(string name, Tensor weight)
    {
        using var _ = TensorScope.Detached();
        return new Compressed24Linear(name, Ops.Compress24(weight, name));
    }

    public string Name { get; }
    public Sparse24Weight Compressed { get; }
    public int InFeatures => Compressed.InFeatures;
    public int OutFeatures => Compressed.OutFeatures;

    /// <summary>There is no dense weight to hand out: callers that need one take Dense() (a new tensor) or restore the layer.</summary>
    public Variable Weight => throw new InvalidOperationException(
        $"{Name} is stored compressed (2:4, values + metadata): it has no dense weight; call Dense() or restore the dense linears first");

    /// <summary>A new dense [out, in] tensor of the weight (+0 at the dropped positions).</summary>
    public Tensor Dense() => Ops.Decompress24(Compressed);

    public Variable Forward(Variable x) => Function.Apply(new Linear24Fn(Compressed), x);

    public void Dispose() => Compressed.Dispose();

    public override string ToString() => $"Compressed24Linear {Name} [{OutFeatures}, {InFeatures}]";
}

/// <summary>y = x W^T with W decompressed per call; x [..., in] (viewed [N, in]); backward gx = gy W (W decompressed again).
/// The products are LinearFn's, on the same dense values.</summary>
public sealed class Linear24Fn(Sparse24Weight w) : Function
{
    /// <summary>Up to this many rows of x, a GPU forward multiplies the compressed weight directly (Linear24).</summary>
    public const int DirectRows = 8;

    private int[] _xShape = [];

    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput => false;

    protected override Tensor Forward(Tensor[] inputs)
    {
        var x = inputs[0];
        _xShape = x.Shape;
        using var x2 = x.ReshapeOrCopy(-1, x.Shape[^1]);
        // Decoding on a GPU (a few rows): read the compressed weight directly, 0.5625x the bytes and no scratch.
        // The CPU keeps the dense product, whose bits the dense path shares.
        if (!x2.Device.IsCpu && x2.Shape[0] <= DirectRows)
        {
            using var yd = Ops.Linear24(x2, w);
            return yd.Reshape([.. _xShape[..^1], w.OutFeatures]);
        }
        using var dense = Ops.Decompress24(w);
        using var y = Ops.MatMul(x2, dense, false, true); // as LinearFn: the same product, so the same bits
        return y.Reshape([.. _xShape[..^1], w.OutFeatures]);
    }

    protected override Tensor?[] Backward(Tensor gyIn)
    {
        using var gy = gyIn.ReshapeOrCopy(-1, gyIn.Shape[^1]);
        using var dense = Ops.Decompress24(w);
        using var gx = Ops.MatMul(gy, dense);
        return [gx.Reshape(_xShape)];
    }
}
