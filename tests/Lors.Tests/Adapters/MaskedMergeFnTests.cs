// The masked baselines' fused merge Function: gradcheck in F64 (A and B), and the same value and gradients as the
// composition it replaced (MatMul, Scale, Add, Mask through ordinary autograd), with zeros of W exactly zero.
using Lors.Autograd;
using Lors.Tensors;
using Lors.Train.Adapters;

namespace Lors.Tests.Adapters;

public sealed class MaskedMergeFnTests
{
    private static Tensor SparseW(int o, int i, ulong seed, DType dt)
    {
        using var w = Ops.RandomNormal([o, i], seed, 0, 1, DType.F64);
        using var keep = Ops.RandomUniform([o, i], seed + 1, -1, 1, DType.F64);
        using var m = Ops.NonZeroMask(Ops.Unary(UnaryOp.Relu, keep));
        using var sparse = Ops.MaskedFill(w, m);
        return sparse.To(dt);
    }

    [Fact]
    public void GradCheckInF64()
    {
        using var scope = TensorScope.Begin();
        var w = SparseW(5, 7, 1, DType.F64);
        var a = Ops.RandomNormal([5, 3], 3, 0, 1, DType.F64);
        var b = Ops.RandomNormal([3, 7], 4, 0, 1, DType.F64);
        var results = GradCheck.Check(v => Function.Apply(new MaskedLowRankMergeFn(0.6f), v[0], v[1], v[2]), [w, a, b], [false, true, true]);
        Assert.Equal(2, results.Count);
        foreach (var r in results) Assert.True(r.Passed, r.Message);
    }

    [Theory]
    [InlineData(DType.F64)]
    [InlineData(DType.F32)]
    public void MatchesTheUnfusedComposition(DType dt)
    {
        using var scope = TensorScope.Begin();
        const float s = 1.7f;
        var w = new Variable(SparseW(9, 20, 5, dt));
        using var mask = Ops.NonZeroMask(w.Data);
        var x = new Variable(Ops.RandomNormal([4, 20], 7, 0, 1, dt));
        var gy = Ops.RandomNormal([4, 9], 8, 0, 1, dt);
        (double[] y, double[] ga, double[] gb) Run(bool fused)
        {
            var a = new Variable(Ops.RandomNormal([9, 3], 9, 0, 1, dt), true);
            var b = new Variable(Ops.RandomNormal([3, 20], 10, 0, 1, dt), true);
            var merged = fused
                ? Function.Apply(new MaskedLowRankMergeFn(s), w, a, b)
                : F.Mask(F.Add(w, F.Scale(F.MatMul(a, b), s)), mask);
            var y = F.Linear(x, merged);
            y.Backward(gy);
            var mw = merged.Data.ToDoubleArray();
            var wa = w.Data.ToDoubleArray();
            for (int i = 0; i < wa.Length; i++) if (wa[i] == 0) Assert.Equal(0.0, mw[i]);
            return (y.Data.ToDoubleArray(), a.Grad!.ToDoubleArray(), b.Grad!.ToDoubleArray());
        }
        var f = Run(true);
        var u = Run(false);
        double tol = dt == DType.F64 ? 1e-12 : 2e-6;
        foreach (var (p, q, what) in new[] { (f.y, u.y, "y"), (f.ga, u.ga, "gA"), (f.gb, u.gb, "gB") })
        {
            double max = q.Max(Math.Abs);
            for (int i = 0; i < p.Length; i++)
                Assert.True(Math.Abs(p[i] - q[i]) <= tol * max, $"{what}[{i}]: fused {p[i]:R}, unfused {q[i]:R}");
        }
    }
}
