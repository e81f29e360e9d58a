// The LoRS linear as one autograd Function. Shapes: x [..., in] (viewed as [N, in]), W [out, in] (frozen, sparse), A [out, r], B [r, in].
// Forward: W' = (W + s A B) * (W != 0); y = x W'^T. Only x, W (the parameter itself), A and B are kept: W' is dropped
// and recomputed in backward. Backward: gx = gy W'; gA = gy^T (x B^T); gB = (gy A)^T x — low-rank products only, the
// out x in gradient gy^T x is never formed. With exactGradient: G = (gy^T x) * M, gA = s G B^T, gB = s A^T G.
using Lors.Autograd;
using Lors.Tensors;

namespace Lors.Train.Adapters;

public sealed class LorsLinearFn(float scale, bool exactGradient = false) : Function
{
    public override bool BackwardReadsOutput => false;

    private Tensor _x = null!, _w = null!, _a = null!, _b = null!;

    private int[] _xShape = [];

    protected override Tensor Forward(Tensor[] inputs)
    {
        (_x, _w, _a, _b) = (inputs[0], inputs[1], inputs[2], inputs[3]);
        _xShape = _x.Shape;
        if (_x.Rank != 2) _x = Save(_x.ReshapeOrCopy(-1, _x.Shape[^1])); // a view of the caller's x (a copy only if strided)
        using var merged = MergedWeight(_w, _a, _b, scale);
        using var y = Ops.MatMul(_x, merged, false, true, outType: OutputType(_x, _w));
        return y.Reshape([.. _xShape[..^1], _w.Shape[0]]);
    }

    protected override Tensor?[] Backward(Tensor gyIn)
    {
        using var gy = gyIn.ReshapeOrCopy(-1, gyIn.Shape[^1]);
        Tensor? gx = null, ga = null, gb = null;
        if (NeedsInputGrad[0])
        {
            using var merged = MergedWeight(_w, _a, _b, scale); // recomputed, not stored
            using var gx2 = Ops.MatMul(gy, merged, outType: OutputType(gy, _w));
            gx = gx2.Reshape(_xShape);
        }
        if (NeedsInputGrad[1])
            throw new InvalidOperationException("LoRS: the base weight is frozen; it cannot require a gradient");
        if (exactGradient)
        {
            if (NeedsInputGrad[2] || NeedsInputGrad[3])
            {
                using var g = Ops.MatMul(gy, _x, true, false); // [out, in]: only on request
                using var masked = Ops.MaskedFill(g, _w); // (gy^T x) * M
                if (NeedsInputGrad[2]) { ga = Ops.MatMul(masked, _b, false, true); Ops.ScaleInPlace(ga, scale); }
                if (NeedsInputGrad[3]) { gb = Ops.MatMul(_a, masked, true, false); Ops.ScaleInPlace(gb, scale); }
            }
            return [gx, null, ga, gb];
        }
        (ga, gb) = LowRankGradients(_x, gy, _a, _b, NeedsInputGrad[2], NeedsInputGrad[3]);
        return [gx, null, ga, gb];
    }

    /// <summary>The rearranged adapter gradients gA = gy^T (x B^T) [out, r] and gB = (gy A)^T x [r, in]; x [N, in], gy [N, out].</summary>
    internal static (Tensor? ga, Tensor? gb) LowRankGradients(Tensor x, Tensor gy, Tensor aIn, Tensor bIn, bool needA, bool needB)
    {
        Tensor? ga = null, gb = null;
        // With 16-bit activations (the GPU path) the rank-r products run in the activations' dtype with fp32
        // accumulation: casting the small A and B is cheaper than widening the [N, in] and [N, out] activations.
        bool low = x.DType is DType.BF16 or DType.F16;
        var acc = x.DType == DType.F64 ? DType.F64 : DType.F32;
        using var a = low ? aIn.To(x.DType) : null;
        using var b = low ? bIn.To(x.DType) : null;
        if (needA)
        {
            using var xb = Ops.MatMul(x, b ?? bIn, false, true, outType: low ? x.DType : acc); // [N, r]
            ga = Ops.MatMul(gy, xb, true, false, outType: acc);                                 // [out, r]
        }
        if (needB)
        {
            using var gya = Ops.MatMul(gy, a ?? aIn, outType: low ? x.DType : acc);            // [N, r]
            gb = Ops.MatMul(gya, x, true, false, outType: acc);                                // [r, in]
        }
        return (ga, gb);
    }

    /// <summary>W' = (W + s A B) * (W != 0) in W's dtype: the fused merge forms A B per tile in fp32, never as a tensor.</summary>
    public static Tensor MergedWeight(Tensor w, Tensor a, Tensor b, float s) => Ops.MaskedLowRankMerge(w, a, b, s);

    internal static DType OutputType(Tensor x, Tensor w) => x.DType == DType.F64 ? DType.F64 : x.Device.IsCpu ? DType.F32 : x.DType;
}
