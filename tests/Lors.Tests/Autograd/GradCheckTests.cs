// Every differentiable function against central finite differences in F64, at several shapes.
using Lors.Autograd;
using Lors.Tensors;
using Lors.Train.Adapters;

namespace Lors.Tests.Autograd;

public sealed class GradCheckTests
{
    private static Tensor R(int[] shape, ulong seed, double std = 1) => Ops.RandomNormal(shape, seed, 0, std, DType.F64);

    private static void Check(Func<Variable[], Variable> f, params Tensor[] inputs) => CheckMask(f, null, inputs);

    private static void CheckMask(Func<Variable[], Variable> f, bool[]? requires, params Tensor[] inputs)
    {
        var results = GradCheck.Check(f, inputs, requires);
        Assert.NotEmpty(results);
        foreach (var r in results) Assert.True(r.Passed, r.Message);
    }

    public static TheoryData<int, int, int> MatShapes => new() { { 1, 1, 1 }, { 3, 5, 4 }, { 7, 2, 9 } };

    [Theory, MemberData(nameof(MatShapes))]
    public void MatMulAllTransposes(int m, int n, int k)
    {
        using var s = TensorScope.Begin();
        foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
            Check(v => F.MatMul(v[0], v[1], ta, tb), R(ta ? [k, m] : [m, k], 1), R(tb ? [n, k] : [k, n], 2));
    }

    [Fact]
    public void BatchedMatMulWithBroadcastOperand()
    {
        using var s = TensorScope.Begin();
        Check(v => F.MatMul(v[0], v[1]), R([3, 4, 5], 1), R([5, 2], 2));
        Check(v => F.MatMul(v[0], v[1], false, true), R([2, 4, 5], 3), R([2, 3, 5], 4));
    }

    [Theory]
    [InlineData(new[] { 2, 3 }, new[] { 2, 3 })]
    [InlineData(new[] { 4, 3 }, new[] { 3 })]
    [InlineData(new[] { 2, 1, 3 }, new[] { 4, 1 })]
    public void BinaryOpsWithBroadcasting(int[] sa, int[] sb)
    {
        using var s = TensorScope.Begin();
        Check(v => F.Add(v[0], v[1]), R(sa, 1), R(sb, 2));
        Check(v => F.Sub(v[0], v[1]), R(sa, 3), R(sb, 4));
        Check(v => F.Mul(v[0], v[1]), R(sa, 5), R(sb, 6));
        using var denom = Ops.Affine(Ops.Abs(R(sb, 8)), 1, 0.5);
        Check(v => F.Div(v[0], v[1]), R(sa, 7), denom);
    }

    [Theory]
    [InlineData(UnaryOp.Neg)]
    [InlineData(UnaryOp.Exp)]
    [InlineData(UnaryOp.Log)]
    [InlineData(UnaryOp.Sqrt)]
    [InlineData(UnaryOp.Rsqrt)]
    [InlineData(UnaryOp.Square)]
    [InlineData(UnaryOp.Sigmoid)]
    [InlineData(UnaryOp.Silu)]
    [InlineData(UnaryOp.Tanh)]
    [InlineData(UnaryOp.Reciprocal)]
    public void UnaryOps(UnaryOp op)
    {
        using var s = TensorScope.Begin();
        bool positive = op is UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Rsqrt or UnaryOp.Reciprocal;
        var x = positive ? Ops.Affine(Ops.Abs(R([3, 7], 11)), 1, 0.5) : R([3, 7], 11);
        Check(v => F.Unary(op, v[0]), x);
    }

    [Fact]
    public void AffineReshapePermuteRowsSumMean()
    {
        using var s = TensorScope.Begin();
        Check(v => F.Affine(v[0], -1.5, 0.25), R([4, 3], 1));
        Check(v => F.Mul(F.Reshape(v[0], 3, 4), F.Reshape(v[0], 3, 4)), R([2, 6], 2));
        var other = new Variable(R([4, 2, 3], 9));
        Check(v => F.Mul(F.Permute(v[0], 2, 0, 1), other), R([2, 3, 4], 3));
        Check(v => F.Rows(v[0], 1, 2), R([4, 3], 4));
        Check(v => F.Mean(F.Square(v[0])), R([5, 3], 5));
        Check(v => F.Sum(v[0]), R([2, 2, 2], 6));
    }

    [Theory]
    [InlineData(1, 8)]
    [InlineData(5, 17)]
    public void RmsNorm(int rows, int c)
    {
        using var s = TensorScope.Begin();
        Check(v => F.RmsNorm(v[0], v[1], 1e-5f), R([rows, c], 1), R([c], 2));
    }

    [Theory]
    [InlineData(1, 1, 3, 4)]
    [InlineData(2, 3, 5, 8)]
    public void Rope(int b, int h, int t, int d)
    {
        using var s = TensorScope.Begin();
        // Any fixed tables exercise the rotation's gradient; the real ones come from Rope.CosSin.
        var cos = Ops.Unary(UnaryOp.Tanh, R([t, d], 6));
        var sin = Ops.Unary(UnaryOp.Tanh, R([t, d], 7));
        Check(v => F.Rope(v[0], cos, sin), R([b, h, t, d], 8));
    }

    [Theory]
    [InlineData(1, 1, 3, 4)]
    [InlineData(2, 3, 5, 8)]
    public void RopeHeads(int b, int h, int t, int d)
    {
        using var s = TensorScope.Begin();
        var cos = Ops.Unary(UnaryOp.Tanh, R([t, d], 6));
        var sin = Ops.Unary(UnaryOp.Tanh, R([t, d], 7));
        Check(v => F.RopeHeads(v[0], h, cos, sin), R([b, t, h * d], 9));
        // and the same values and gradient as the composition it replaces
        var x = R([b, t, h * d], 10);
        var gy = R([b, h, t, d], 11);
        var a = new Variable(x, true);
        var fused = F.RopeHeads(a, h, cos, sin);
        fused.Backward(gy);
        var c = new Variable(x, true);
        var composed = F.Rope(F.Permute(F.Reshape(c, b, t, h, d), 0, 2, 1, 3), cos, sin);
        composed.Backward(gy);
        Assert.Equal(composed.Data.ToDoubleArray(), fused.Data.ToDoubleArray());
        Assert.Equal(c.Grad!.ToDoubleArray(), a.Grad!.ToDoubleArray());
    }

    [Fact]
    public void SwiGluSoftmaxLogSoftmax()
    {
        using var s = TensorScope.Begin();
        Check(v => F.SwiGlu(v[0], v[1]), R([3, 5], 1), R([3, 5], 2));
        Check(v => F.Softmax(v[0]), R([4, 6], 3));
        Check(v => F.LogSoftmax(v[0]), R([4, 6], 4));
    }

    [Fact]
    public void EmbeddingAndCrossEntropyWithIgnoreIndex()
    {
        using var s = TensorScope.Begin();
        var ids = Tensor.FromArray([3, 0, 3, 2, 1], [5]);
        Check(v => F.Embedding(ids, v[0]), R([4, 6], 1));
        var targets = Tensor.FromArray([1, -100, 4, 0], [4]);
        Check(v => F.CrossEntropy(v[0], targets), R([4, 5], 2));
    }

    [Theory]
    [InlineData(1, 2, 2, 3, 3, 4)]  // MHA, T == S
    [InlineData(2, 4, 2, 3, 5, 4)]  // GQA with a prefix (S > T, as with a cache)
    public void CausalAttention(int b, int hq, int hkv, int t, int sLen, int d)
    {
        using var s = TensorScope.Begin();
        Check(v => F.Attention(v[0], v[1], v[2], 0.5f), R([b, hq, t, d], 1), R([b, hkv, sLen, d], 2), R([b, hkv, sLen, d], 3));
    }

    [Fact]
    public void LorsLinearExactGradientOptionIsTheGradientOfTheMaskedProduct()
    {
        using var s = TensorScope.Begin();
        // About half of W zeroed at random: the gradient must respect the mask.
        var keep = Ops.Unary(UnaryOp.Relu, Ops.RandomUniform([6, 8], 9, -1, 1, DType.F64));
        var wSparse = Ops.MaskedFill(R([6, 8], 1), keep);
        CheckMask(v => Function.Apply(new LorsLinearFn(1.5f, exactGradient: true), v[0], v[1], v[2], v[3]),
            [true, false, true, true], R([5, 8], 2), wSparse, R([6, 3], 3), R([3, 8], 4));
    }

    [Fact]
    public void LinearAndMask()
    {
        using var s = TensorScope.Begin();
        Check(v => F.Linear(v[0], v[1]), R([5, 8], 1), R([6, 8], 2));
        Check(v => F.Linear(v[0], v[1]), R([2, 3, 8], 3), R([4, 8], 4)); // N-D input: batch dims flattened
        var keep = Ops.Unary(UnaryOp.Relu, Ops.RandomUniform([6, 8], 5, -1, 1, DType.F64));
        using var mask = Ops.NonZeroMask(keep);
        Check(v => F.Mask(v[0], mask), R([6, 8], 6));
        Check(v => F.Linear(v[0], F.Mask(v[1], mask)), R([5, 8], 7), R([6, 8], 8));
    }

    [Theory]
    [InlineData(AdapterMethod.Masked)]
    [InlineData(AdapterMethod.MaskedCheckpoint)]
    public void MaskedBaselineGradientsEqualTheExactLorsGradient(AdapterMethod baseline)
    {
        // The masked baselines differentiate W' = (W + s A B) * M with ordinary autograd; LoRS with ExactMasked must give
        // the same gx, gA, gB (to fp64 rounding), and both must differ from LoRS's default low-rank gradient.
        using var s = TensorScope.Begin();
        var keep = Ops.Unary(UnaryOp.Relu, Ops.RandomUniform([6, 8], 9, -1, 1, DType.F64));
        var w = Ops.MaskedFill(R([6, 8], 1), keep);
        var gy = R([2, 5, 6], 5);
        double[][] Grads(AdapterMethod method, LorsGradient gradient)
        {
            var a = new Variable(R([6, 3], 3), true); // the same seeds: the same values in every call
            var b = new Variable(R([3, 8], 4), true);
            var xv = new Variable(R([2, 5, 8], 2), true);
            var adapter = AdapterTestAccess.Make(new Lors.Models.Llama.Linear("w.weight", new Variable(w)), a, b,
                new AdapterConfig { Method = method, Rank = 3, Alpha = 4.5, Gradient = gradient });
            adapter.Forward(xv).Backward(gy);
            return [xv.Grad!.ToDoubleArray(), a.Grad!.ToDoubleArray(), b.Grad!.ToDoubleArray()];
        }
        var exact = Grads(AdapterMethod.Lors, LorsGradient.ExactMasked);
        var masked = Grads(baseline, LorsGradient.LowRank);
        var lowRank = Grads(AdapterMethod.Lors, LorsGradient.LowRank);
        string[] names = ["gx", "gA", "gB"];
        for (int k = 0; k < 3; k++)
        {
            double max = exact[k].Max(Math.Abs), diff = exact[k].Zip(masked[k], (p, q) => Math.Abs(p - q)).Max();
            Assert.True(diff <= 1e-13 * max, $"{baseline} {names[k]} differs from LoRS ExactMasked by {diff:E2} (max {max:E2})");
        }
        Assert.Equal(exact[0], lowRank[0]); // gx does not depend on the gradient option
        Assert.True(exact[1].Zip(lowRank[1], (p, q) => Math.Abs(p - q)).Max() > 1e-3, "LowRank gA should differ from the exact one");
    }

    [Fact]
    public void CheckpointGivesTheSameGradients()
    {
        using var s = TensorScope.Begin();
        var w1 = new Variable(R([6, 5], 1), true);
        var w2 = new Variable(R([5, 6], 2), true);
        Variable Body(Variable[] v) => F.Linear(F.Silu(F.Linear(v[0], w1)), w2);
        var x = R([4, 5], 3);
        var direct = new Variable(x, true);
        F.Sum(F.Square(Body([direct]))).Backward();
        var g1 = w1.Grad!.ToDoubleArray(); var g2 = w2.Grad!.ToDoubleArray(); var gx = direct.Grad!.ToDoubleArray();
        w1.ZeroGrad(); w2.ZeroGrad();
        var ck = new Variable(x, true);
        F.Sum(F.Square(Recompute.Run(Body, [ck], [w1, w2]))).Backward();
        Assert.Equal(g1, w1.Grad!.ToDoubleArray());
        Assert.Equal(g2, w2.Grad!.ToDoubleArray());
        Assert.Equal(gx, ck.Grad!.ToDoubleArray());
        w1.ZeroGrad(); w2.ZeroGrad();
    }
}

/// <summary>Checkpointing holds fewer bytes between forward and backward, measured by the CPU allocator.</summary>
[Collection(nameof(Lors.Tests.Adapters.AllocatorCounters))]
public sealed class CheckpointMemoryTests
{
    [Fact]
    public void CheckpointHoldsOnlyItsInputsAndOutput()
    {
        using var s = TensorScope.Begin();
        var ws = Enumerable.Range(0, 4).Select(i => new Variable(Ops.RandomNormal([64, 64], (ulong)i + 1, 0, 0.1), true)).ToArray();
        Variable Body(Variable[] v)
        {
            var h = v[0];
            foreach (var w in ws) h = F.Silu(F.Linear(h, w));
            return h;
        }
        var x = Ops.RandomNormal([256, 64], 9);

        long Held(bool checkpoint, out double[] grad0)
        {
            using var scope = TensorScope.Begin();
            var mem = Backends.Cpu.Memory;
            long before = mem.CurrentBytes;
            var input = new Variable(x, true);
            var y = checkpoint ? Recompute.Run(Body, [input], ws) : Body([input]);
            long held = mem.CurrentBytes - before;
            F.Sum(y).Backward();
            grad0 = ws[0].Grad!.ToDoubleArray();
            foreach (var w in ws) w.ZeroGrad();
            input.ZeroGrad();
            return held;
        }

        long direct = Held(false, out var g1);
        long ckpt = Held(true, out var g2);
        Assert.Equal(g1, g2);
        long activation = 256L * 64 * sizeof(float);
        Assert.True(ckpt <= 2 * activation, $"checkpoint held {ckpt} bytes (one output is {activation})");
        Assert.True(direct >= 8 * activation, $"the direct graph held only {direct} bytes");
    }

    [Fact]
    public void CastRoundsForwardAndReturnsTheGradientInTheInputDtype()
    {
        using var s = TensorScope.Begin();
        var x = new Variable(Ops.RandomNormal([3, 5], 12, 0, 1, DType.F32), true);
        var y = F.Cast(x, DType.BF16);
        Assert.Equal(DType.BF16, y.DType);
        using var back = x.Data.To(DType.BF16);
        Assert.Equal(back.ToFloatArray(), y.Data.ToFloatArray());
        var gy = Ops.RandomNormal([3, 5], 13, 0, 1, DType.BF16);
        y.Backward(gy);
        Assert.Equal(DType.F32, x.Grad!.DType);
        Assert.Equal(gy.ToFloatArray(), x.Grad.ToFloatArray());
        Assert.Same(x, F.Cast(x, DType.F32));
    }
}
