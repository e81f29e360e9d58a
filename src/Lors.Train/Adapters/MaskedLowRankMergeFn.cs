// The masked baselines' merge as one autograd Function: W' = (W + s A B) * M, M = (W != 0), W [out, in] frozen,
// A [out, r], B [r, in]. Forward is the fused MaskedLowRankMerge (one read of W, one write of W', no A B tensor);
// backward takes gW' [out, in] and returns gA = s (gW' * M) B^T and gB = s A^T (gW' * M), as autograd of the
// composition (MatMul, Scale, Add, Mask) would. Only W, A and B (the parameters themselves) are kept.
using Lors.Autograd;
using Lors.Tensors;

namespace Lors.Train.Adapters;

public sealed class MaskedLowRankMergeFn(float scale) : Function
{
    public override bool BackwardReadsOutput => false;

    private Tensor _w = null!, _a = null!, _b = null!;

    protected override Tensor Forward(Tensor[] inputs)
    {
        (_w, _a, _b) = (inputs[0], inputs[1], inputs[2]);
        return Ops.MaskedLowRankMerge(_w, _a, _b, scale);
    }

    protected override Tensor?[] Backward(Tensor gMerged)
    {
        if (NeedsInputGrad[0])
            throw new InvalidOperationException("masked merge: the base weight is frozen; it cannot require a gradient");
        Tensor? ga = null, gb = null;
        if (NeedsInputGrad[1] || NeedsInputGrad[2])
        {
            var acc = _a.DType == DType.F64 ? DType.F64 : DType.F32;
            using var masked = Ops.MaskedFill(gMerged, _w); // gW' * M, in gW''s dtype
            if (NeedsInputGrad[1])
            {
                using var b = masked.DType == _b.DType ? null : _b.To(masked.DType);
                ga = Tensor.Empty(_a.Shape, acc, _a.Device);
                Ops.MatMulInto(masked, b ?? _b, ga, false, true, alpha: scale);
            }
            if (NeedsInputGrad[2])
            {
                using var a = masked.DType == _a.DType ? null : _a.To(masked.DType);
                gb = Tensor.Empty(_b.Shape, acc, _b.Device);
                Ops.MatMulInto(a ?? _a, masked, gb, true, false, alpha: scale);
            }
        }
        return [null, ga, gb];
    }
}
