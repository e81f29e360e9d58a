// The functional API over variables: what models are written in. Each call applies one Function.
using Lors.Autograd.Functions;
using Lors.Tensors;

namespace Lors.Autograd;

public static class F
{
    public static Variable MatMul(Variable a, Variable b, bool transA = false, bool transB = false) => Function.Apply(new MatMulFn(transA, transB), a, b);
    /// <summary>x @ w^T for x [..., in], w [out, in].</summary>
    public static Variable Linear(Variable x, Variable w) => Function.Apply(new LinearFn(), x, w);

    public static Variable Add(Variable a, Variable b) => Function.Apply(new BinaryFn(BinaryOp.Add), a, b);
    public static Variable Sub(Variable a, Variable b) => Function.Apply(new BinaryFn(BinaryOp.Sub), a, b);
    public static Variable Mul(Variable a, Variable b) => Function.Apply(new BinaryFn(BinaryOp.Mul), a, b);
    public static Variable Div(Variable a, Variable b) => Function.Apply(new BinaryFn(BinaryOp.Div), a, b);
    public static Variable Unary(UnaryOp op, Variable x) => Function.Apply(new UnaryFn(op), x);
    public static Variable Silu(Variable x) => Unary(UnaryOp.Silu, x);
    public static Variable Exp(Variable x) => Unary(UnaryOp.Exp, x);
    public static Variable Square(Variable x) => Unary(UnaryOp.Square, x);
    public static Variable Scale(Variable x, double scale) => Function.Apply(new AffineFn(scale, 0), x);
    public static Variable Affine(Variable x, double scale, double shift) => Function.Apply(new AffineFn(scale, shift), x);
    public static Variable Mask(Variable x, Tensor mask) => Function.Apply(new MaskFn(mask), x);
    /// <summary>x in dtype (x itself when it already is); differentiable.</summary>
    public static Variable Cast(Variable x, DType dtype) => x.DType == dtype ? x : Function.Apply(new CastFn(dtype), x);

    public static Variable Reshape(Variable x, params int[] shape) => Function.Apply(new ReshapeFn(shape), x);
    public static Variable Rows(Variable x, int start, int count) => Function.Apply(new RowsFn(start, count), x);
    public static Variable Permute(Variable x, params int[] dims) => Function.Apply(new PermuteFn(dims), x);
    public static Variable Transpose(Variable x, int d0, int d1)
    {
        var dims = Enumerable.Range(0, x.Rank).ToArray();
        int a = d0 < 0 ? d0 + x.Rank : d0, b = d1 < 0 ? d1 + x.Rank : d1;
        (dims[a], dims[b]) = (dims[b], dims[a]);
        return Permute(x, dims);
    }

    public static Variable RmsNorm(Variable x, Variable w, float eps) => Function.Apply(new RmsNormFn(eps), x, w);
    public static Variable Rope(Variable x, Tensor cos, Tensor sin) => Function.Apply(new RopeFn(cos, sin), x);
    /// <summary>A projection's output y [B, T, H*D] split into heads and rotated: [B, H, T, D], in one pass (and one in backward).</summary>
    public static Variable RopeHeads(Variable y, int heads, Tensor cos, Tensor sin) => Function.Apply(new RopeHeadsFn(heads, cos, sin), y);
    public static Variable SwiGlu(Variable gate, Variable up) => Function.Apply(new SwiGluFn(), gate, up);
    public static Variable Embedding(Tensor ids, Variable table) => Function.Apply(new EmbeddingFn(ids), table);
    public static Variable Softmax(Variable x) => Function.Apply(new SoftmaxFn(false), x);
    public static Variable LogSoftmax(Variable x) => Function.Apply(new SoftmaxFn(true), x);
    public static Variable CrossEntropy(Variable logits, Tensor targets, int ignoreIndex = -100) => Function.Apply(new CrossEntropyFn(targets, ignoreIndex), logits);
    public static Variable Attention(Variable q, Variable k, Variable v, float scale) => Function.Apply(new AttentionFn(scale), q, k, v);
    public static Variable Sum(Variable x) => Function.Apply(new SumAllFn(false), x);
    public static Variable Mean(Variable x) => Function.Apply(new SumAllFn(true), x);
}
