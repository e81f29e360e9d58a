// Bad input: shape and dtype mismatches, out-of-range ids and targets, disposed tensors. Messages must name the op
// and the shapes (or the offending id) so a user can find the call.
using Lors.Tensors;

namespace Lors.Tests.Backend;

public abstract partial class BackendSuite
{
    [BackendFact]
    public void BadInputsThrowWithOpAndShapes()
    {
        using var a = Tensor.Zeros([2, 3], DType.F32, Device);
        using var b = Tensor.Zeros([4, 5], DType.F32, Device);
        using var ids = MakeInts([0, 5, 1], [3]);
        using var table = Tensor.Zeros([5, 4], DType.F32, Device);
        Throws<ArgumentException>(() => Ops.Add(a, b), "Binary.Add", "[2, 3]", "[4, 5]");
        Throws<ArgumentException>(() => Ops.MatMul(a, b), "MatMul", "[2, 3]", "[4, 5]");
        Throws<ArgumentException>(() => Ops.SwiGlu(a, b), "SwiGlu", "[2, 3]", "[4, 5]");
        Throws<ArgumentException>(() => Ops.MaskedMerge(a, b, 1), "MaskedMerge", "[2, 3]", "[4, 5]");
        Throws<ArgumentException>(() => Ops.RmsNorm(a, Tensor.Zeros([4], DType.F32, Device), 1e-5f), "RmsNorm", "[4]", "[2, 3]");
        Throws<ArgumentException>(() => Ops.Softmax(ids), "Softmax", "i32");
        Throws<ArgumentException>(() => Ops.Embedding(a, table), "Embedding", "i32");
        Throws<ArgumentOutOfRangeException>(() => Ops.Embedding(ids, table), "Embedding", "id 5", "position 1");
        using var gy = Tensor.Zeros([3, 4], DType.F32, Device);
        using var gt = Tensor.Zeros([5, 4], DType.F32, Device);
        using var negIds = MakeInts([0, -1, 1], [3]);
        Throws<ArgumentOutOfRangeException>(() => Ops.EmbeddingBackward(negIds, gy, gt), "EmbeddingBackward", "-1", "5");
        using var logits = Tensor.Zeros([3, 5], DType.F32, Device);
        using var badT = MakeInts([0, 7, -100], [3]);
        Throws<ArgumentOutOfRangeException>(() => Ops.CrossEntropy(logits, badT), "CrossEntropy", "7", "row 1", "5");
        Throws<ArgumentException>(() => Ops.CrossEntropy(logits, MakeInts([0, 1], [2])), "CrossEntropy", "[3]", "[2]");
        using var q = Tensor.Zeros([1, 3, 4, 8], DType.F32, Device);
        using var k = Tensor.Zeros([1, 2, 4, 8], DType.F32, Device);
        Throws<ArgumentException>(() => Ops.Attention(q, k, k, 1), "Attention", "[1, 3, 4, 8]", "[1, 2, 4, 8]");
        using var kShort = Tensor.Zeros([1, 1, 3, 8], DType.F32, Device);
        Throws<ArgumentException>(() => Ops.Attention(q, kShort, kShort, 1), "Attention", "S >= T");
        using var x4 = Tensor.Zeros([1, 1, 2, 4], DType.F32, Device);
        using var cs = Tensor.Zeros([3, 4], DType.F32, Device);
        Throws<ArgumentException>(() => Ops.Rope(x4, cs, cs), "Rope", "[3, 4]");
        using var p = Tensor.Zeros([4], DType.F32, Device);
        Throws<ArgumentException>(() => Ops.AdamW(p, a, p, p, new AdamWArgs(1, 0.9f, 0.99f, 1e-8f, 0, 1)), "AdamW", "[4]", "[2, 3]");
        var dead = Tensor.Zeros([2, 2], DType.F32, Device);
        dead.Dispose();
        Throws<ObjectDisposedException>(() => Ops.Exp(dead), "[2, 2]", "disposed");
    }
}
