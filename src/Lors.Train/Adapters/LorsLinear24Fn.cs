// The LoRS linear over a compressed 2:4 weight. Shapes: x [..., in] (viewed [N, in]), W [out, in] held as kept values
// [out, in/2] + metadata (not an input: it is frozen), A [out, r], B [r, in]. Forward: W' = (W + s A B) * M merged from
// the kept values straight into one dense scratch [out, in], y = x W'^T, scratch freed. Backward: W' merged again for
// gx = gy W'; gA, gB as LorsLinearFn (low-rank products, or the exact masked gradient with the mask from the metadata).
// The arithmetic is LorsLinearFn's on the same values, so on one backend the results are the same bits.
using Lors.Autograd;
using Lors.Tensors;

namespace Lors.Train.Adapters;

public sealed class LorsLinear24Fn(Sparse24Weight w, float scale, bool exactGradient = false) : Function
{
    public override bool BackwardReadsOutput => false;

    private Tensor _x = null!, _a = null!, _b = null!;
    private int[] _xShape = [];

    protected override Tensor Forward(Tensor[] inputs)
    {
        (_x, _a, _b) = (inputs[0], inputs[1], inputs[2]);
        _xShape = _x.Shape;
        if (_x.Rank != 2) _x = Save(_x.ReshapeOrCopy(-1, _x.Shape[^1]));
        using var merged = Ops.MaskedLowRankMerge24(w, _a, _b, scale, dense: true);
        using var y = Ops.MatMul(_x, merged, false, true, outType: LorsLinearFn.OutputType(_x, merged));
        return y.Reshape([.. _xShape[..^1], w.OutFeatures]);
    }

    protected override Tensor?[] Backward(Tensor gyIn)
    {
        using var gy = gyIn.ReshapeOrCopy(-1, gyIn.Shape[^1]);
        Tensor? gx = null, ga = null, gb = null;
        if (NeedsInputGrad[0])
        {
            using var merged = Ops.MaskedLowRankMerge24(w, _a, _b, scale, dense: true); // recomputed, not stored
            using var gx2 = Ops.MatMul(gy, merged, outType: LorsLinearFn.OutputType(gy, merged));
            gx = gx2.Reshape(_xShape);
        }
        if (exactGradient)
        {
            if (NeedsInputGrad[1] || NeedsInputGrad[2])
            {
                using var g = Ops.MatMul(gy, _x, true, false); // [out, in]: only on request
                using var dense = Ops.Decompress24(w);
                using var masked = Ops.MaskedFill(g, dense);   // (gy^T x) * M
                if (NeedsInputGrad[1]) { ga = Ops.MatMul(masked, _b, false, true); Ops.ScaleInPlace(ga, scale); }
                if (NeedsInputGrad[2]) { gb = Ops.MatMul(_a, masked, true, false); Ops.ScaleInPlace(gb, scale); }
            }
            return [gx, ga, gb];
        }
        (ga, gb) = LorsLinearFn.LowRankGradients(_x, gy, _a, _b, NeedsInputGrad[1], NeedsInputGrad[2]);
        return [gx, ga, gb];
    }
}
