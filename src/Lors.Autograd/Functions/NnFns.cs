// Differentiable neural-network primitives over the fused backend kernels: RMSNorm, RoPE, SwiGLU,
// embedding, (log-)softmax, cross-entropy and causal attention. Forward and backward side by side.
using Lors.Tensors;

namespace Lors.Autograd.Functions;

public sealed class RmsNormFn(float eps) : Function
{
    public override bool BackwardReadsOutput => false;

    private Tensor _x = null!, _w = null!, _rstd = null!;

    protected override Tensor Forward(Tensor[] inputs)
    {
        (_x, _w) = (inputs[0], inputs[1]);
        var (y, rstd) = Ops.RmsNorm(_x, _w, eps);
        if (Recording) _rstd = Save(rstd); else rstd.Dispose();
        return y;
    }

    protected override Tensor?[] Backward(Tensor gy)
    {
        var (gx, gw) = Ops.RmsNormBackward(_x, _w, _rstd, gy);
        if (!NeedsInputGrad[1]) { gw.Dispose(); gw = null!; }
        return [NeedsInputGrad[0] ? gx : Drop(gx), gw];
    }

    private static Tensor? Drop(Tensor t) { t.Dispose(); return null; }
}

/// <summary>RoPE on x [B, H, T, D] with constant cos/sin tables [T, D].</summary>
public sealed class RopeFn(Tensor cos, Tensor sin) : Function
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput => false;

    protected override Tensor Forward(Tensor[] inputs) => Ops.Rope(inputs[0], cos, sin);
    protected override Tensor?[] Backward(Tensor gy) => [Ops.Rope(gy, cos, sin, inverse: true)];
}

/// <summary>
/// y [B, T, H*D] to Rope(y viewed [B, T, H, D] permuted to [B, H, T, D]) in one pass; the backward rotates back and
/// writes [B, T, H*D] in one pass. Equal to Reshape, Permute and Rope composed; reads no input or output.
/// </summary>
public sealed class RopeHeadsFn(int heads, Tensor cos, Tensor sin) : Function
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput => false;

    protected override Tensor Forward(Tensor[] inputs)
    {
        var y = inputs[0];
        if (y.Rank != 3 || heads <= 0 || y.Shape[2] % heads != 0)
            throw new ArgumentException($"RopeHeads: input {Tensor.ShapeString(y.Shape)} must be [B, T, H*D] with H = {heads}");
        using var split = y.ReshapeOrCopy(y.Shape[0], y.Shape[1], heads, y.Shape[2] / heads);
        return Ops.RopeSwap(split, cos, sin, inverse: false, tokensFirst: true);
    }

    protected override Tensor?[] Backward(Tensor gy)
    {
        using var g = Ops.RopeSwap(gy, cos, sin, inverse: true, tokensFirst: false); // [B, T, H, D]
        return [g.Reshape(g.Shape[0], g.Shape[1], g.Shape[2] * g.Shape[3])];
    }
}

public sealed class SwiGluFn : Function
{
    public override bool BackwardReadsOutput => false;

    private Tensor _gate = null!, _up = null!;

    protected override Tensor Forward(Tensor[] inputs)
    {
        (_gate, _up) = (inputs[0], inputs[1]);
        return Ops.SwiGlu(_gate, _up);
    }

    protected override Tensor?[] Backward(Tensor gy)
    {
        var (gg, gu) = Ops.SwiGluBackward(_gate, _up, gy);
        return [gg, gu];
    }
}

/// <summary>Rows of the table picked by constant ids.</summary>
public sealed class EmbeddingFn(Tensor ids) : Function
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput => false;

    private int[] _tableShape = [];

    protected override Tensor Forward(Tensor[] inputs)
    {
        _tableShape = inputs[0].Shape;
        return Ops.Embedding(ids, inputs[0]);
    }

    protected override Tensor?[] Backward(Tensor gy)
    {
        var g = Tensor.Zeros(_tableShape, gy.DType == DType.F64 ? DType.F64 : DType.F32, gy.Device);
        Ops.EmbeddingBackward(ids, gy, g);
        return [g];
    }
}

public sealed class SoftmaxFn(bool log) : Function
{
    private Tensor _y = null!;

    protected override Tensor Forward(Tensor[] inputs)
    {
        var y = Ops.Softmax(inputs[0], log);
        if (Recording) _y = y;
        return y;
    }

    protected override Tensor?[] Backward(Tensor gy) => [Ops.SoftmaxBackward(_y, gy, log)];
}

/// <summary>
/// Mean cross-entropy over the rows whose target is not ignoreIndex: logits [N, V], constant targets I32 [N].
/// The output is a scalar; the mean's divisor is the count of counted rows.
/// </summary>
public sealed class CrossEntropyFn(Tensor targets, int ignoreIndex = -100) : Function
{
    public override bool BackwardReadsOutput => false;

    private Tensor _logits = null!, _lse = null!;
    private float _scale;

    public int CountedRows { get; private set; }

    protected override Tensor Forward(Tensor[] inputs)
    {
        _logits = inputs[0];
        var (losses, lse) = Ops.CrossEntropy(_logits, targets, ignoreIndex);
        using (losses)
        {
            var t = targets.ToIntArray();
            CountedRows = t.Count(id => id != ignoreIndex);
            _scale = CountedRows == 0 ? 0f : 1f / CountedRows;
            if (Recording) _lse = Save(lse); else lse.Dispose();
            using var sum = Ops.SumAll(losses);
            return Ops.Scale(sum, _scale);
        }
    }

    protected override Tensor?[] Backward(Tensor gy)
    {
        float upstream = gy.Item();
        return [Ops.CrossEntropyBackward(_logits, targets, _lse, _scale * upstream, ignoreIndex)];
    }
}

/// <summary>Causal GQA attention: q [B,Hq,T,D], k/v [B,Hkv,S,D].</summary>
public sealed class AttentionFn(float scale) : Function
{
    private Tensor _q = null!, _k = null!, _v = null!, _o = null!, _lse = null!;
    private string _name = nameof(AttentionFn);

    /// <summary>Names the kernel that runs, e.g. AttentionFn[mma] or AttentionFn[gemm] (a head dim mma lacks falls back).</summary>
    protected override string ProfileName => _name;

    protected override Tensor Forward(Tensor[] inputs)
    {
        (_q, _k, _v) = (inputs[0], inputs[1], inputs[2]);
        _name = $"{nameof(AttentionFn)}[{Ops.AttentionAlgorithm(_q)}]";
        var (o, lse) = Ops.Attention(_q, _k, _v, scale);
        if (Recording) { _o = o; _lse = Save(lse); } else lse.Dispose();
        return o;
    }

    protected override Tensor?[] Backward(Tensor gy)
    {
        var (gq, gk, gv) = Ops.AttentionBackward(_q, _k, _v, _o, _lse, gy, scale);
        return [gq, gk, gv];
    }
}

/// <summary>Sum or mean of all elements, as a scalar.</summary>
public sealed class SumAllFn(bool mean) : Function
{
    public override bool BackwardReadsInput(int index) => false;
    public override bool BackwardReadsOutput => false;

    private int[] _shape = [];
    private DType _dtype;

    protected override Tensor Forward(Tensor[] inputs)
    {
        _shape = inputs[0].Shape;
        _dtype = inputs[0].DType.ComputeType();
        return mean ? Ops.MeanAll(inputs[0]) : Ops.SumAll(inputs[0]);
    }

    protected override Tensor?[] Backward(Tensor gy)
    {
        double g = gy.DType == DType.F64 ? gy.ToDoubleArray()[0] : gy.Item();
        long n = Tensor.NumelOf(_shape);
        return [Tensor.Full(_shape, mean ? g / Math.Max(1, n) : g, _dtype, gy.Device)];
    }
}
