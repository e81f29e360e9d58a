// Elementwise ops: unary (forward, backward) at every length 0..67, binary with broadcasting and strided views,
// affine, axpy, masks; F32, BF16 and F64.
using Lors.Tensors;

namespace Lors.Tests.Backend;

public abstract partial class BackendSuite
{
    private static double UnaryRef(UnaryOp op, double x) => op switch
    {
        UnaryOp.Neg => -x, UnaryOp.Exp => Math.Exp(x), UnaryOp.Log => Math.Log(x), UnaryOp.Sqrt => Math.Sqrt(x),
        UnaryOp.Rsqrt => 1 / Math.Sqrt(x), UnaryOp.Abs => Math.Abs(x), UnaryOp.Square => x * x,
        UnaryOp.Sigmoid => 1 / (1 + Math.Exp(-x)), UnaryOp.Silu => x / (1 + Math.Exp(-x)), UnaryOp.Tanh => Math.Tanh(x),
        UnaryOp.Relu => Math.Max(x, 0), UnaryOp.Sign => Math.Sign(x), UnaryOp.Reciprocal => 1 / x,
        _ => throw new NotSupportedException(),
    };

    private static double UnaryGradRef(UnaryOp op, double x)
    {
        double s = 1 / (1 + Math.Exp(-x));
        return op switch
        {
            UnaryOp.Neg => -1, UnaryOp.Exp => Math.Exp(x), UnaryOp.Log => 1 / x, UnaryOp.Sqrt => 0.5 / Math.Sqrt(x),
            UnaryOp.Rsqrt => -0.5 * Math.Pow(x, -1.5), UnaryOp.Abs => Math.Sign(x), UnaryOp.Square => 2 * x,
            UnaryOp.Sigmoid => s * (1 - s), UnaryOp.Silu => s * (1 + x * (1 - s)), UnaryOp.Tanh => 1 - Math.Tanh(x) * Math.Tanh(x),
            UnaryOp.Relu => x > 0 ? 1 : 0, UnaryOp.Sign => 0, UnaryOp.Reciprocal => -1 / (x * x),
            _ => throw new NotSupportedException(),
        };
    }

    private static bool PositiveDomain(UnaryOp op) => op is UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Rsqrt or UnaryOp.Reciprocal;

    [BackendFact]
    public void UnaryMatchesReferenceAtEveryLength() => ForEachLevel(() =>
    {
        foreach (var dt in FloatTypes)
            foreach (var op in Enum.GetValues<UnaryOp>())
                for (int n = 0; n <= 67; n += dt == DType.F32 ? 1 : 7)
                {
                    var x = Round(Rand(n, n + 1, PositiveDomain(op) ? 0.1 : -3, 3), dt);
                    var gy = Round(Rand(n, n + 2), dt);
                    using var xt = Make(x, [n], dt);
                    using var gt = Make(gy, [n], dt);
                    using var y = Ops.Unary(op, xt);
                    using var gx = Ops.UnaryBackward(op, xt, gt);
                    Close(x.Select(v => UnaryRef(op, v)).ToArray(), y, dt, $"{op} {dt} n={n}");
                    Close(x.Select((v, i) => gy[i] * UnaryGradRef(op, v)).ToArray(), gx, dt, $"{op}' {dt} n={n}");
                }
    });

    private static double BinaryRef(BinaryOp op, double a, double b) => op switch
    {
        BinaryOp.Add => a + b, BinaryOp.Sub => a - b, BinaryOp.Mul => a * b, BinaryOp.Div => a / b,
        BinaryOp.Max => Math.Max(a, b), BinaryOp.Min => Math.Min(a, b), BinaryOp.Pow => Math.Pow(a, b),
        _ => throw new NotSupportedException(),
    };

    [BackendFact]
    public void BinaryMatchesReferenceAtEveryLength() => ForEachLevel(() =>
    {
        foreach (var dt in FloatTypes)
            foreach (var op in Enum.GetValues<BinaryOp>())
                for (int n = 0; n <= 67; n += dt == DType.F32 ? 1 : 5)
                {
                    var a = Round(Rand(n, 3 * n + 1, op == BinaryOp.Pow ? 0.2 : -2, 2), dt);
                    var b = Round(Rand(n, 3 * n + 2, 0.5, 2), dt);
                    using var at = Make(a, [n], dt);
                    using var bt = Make(b, [n], dt);
                    using var y = Ops.Binary(op, at, bt);
                    Assert.Equal(dt, y.DType);
                    Close(a.Select((v, i) => BinaryRef(op, v, b[i])).ToArray(), y, dt, $"{op} {dt} n={n}");
                }
    });

    [BackendFact]
    public void BinaryBroadcastsAndTakesStridedViews()
    {
        foreach (var dt in FloatTypes)
        {
            // a [4, 1, 5] with b [3, 1]: result [4, 3, 5]
            var a = Round(Rand(20, 1), dt);
            var b = Round(Rand(3, 2, 0.5, 2), dt);
            using var at = Make(a, [4, 1, 5], dt);
            using var bt = Make(b, [3, 1], dt);
            foreach (var op in Enum.GetValues<BinaryOp>().Where(o => o != BinaryOp.Pow))
            {
                using var y = Ops.Binary(op, at, bt);
                Assert.Equal([4, 3, 5], y.Shape);
                var e = new double[60];
                for (int i = 0; i < 4; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 5; k++)
                    e[(i * 3 + j) * 5 + k] = BinaryRef(op, a[i * 5 + k], b[j]);
                Close(e, y, dt, $"broadcast {op} {dt}");
            }
            // Transposed and narrowed operands: x [6, 7] transposed to [7, 6], y = narrow of [7, 9] to [7, 6].
            var x = Round(Rand(42, 3), dt);
            var z = Round(Rand(63, 4), dt);
            using var xt = Make(x, [6, 7], dt);
            using var zt = Make(z, [7, 9], dt);
            using var xT = xt.T();
            using var zn = zt.Narrow(1, 2, 6);
            using var s = Ops.Add(xT, zn);
            var es = new double[42];
            for (int i = 0; i < 7; i++) for (int j = 0; j < 6; j++) es[i * 6 + j] = x[j * 7 + i] + z[i * 9 + 2 + j];
            Close(es, s, dt, $"strided add {dt}");
        }
        // Mixed dtypes promote: F32 + BF16 -> F32.
        using var f = Make([1.5, 2.5], [2], DType.F32);
        using var h = Make([0.25, 4], [2], DType.BF16);
        using var r = Ops.Add(f, h);
        Assert.Equal(DType.F32, r.DType);
        Close([1.75, 6.5], r, 1e-7, "mixed add");
    }

    [BackendFact]
    public void AffineAxpyMaskAndNonZero() => ForEachLevel(() =>
    {
        foreach (var dt in FloatTypes)
            for (int n = 0; n <= 67; n += 3)
            {
                var x = Round(Rand(n, n + 11), dt);
                var y = Round(Rand(n, n + 12), dt);
                for (int i = 0; i < n; i += 4) x[i] = 0;
                using var xt = Make(x, [n], dt);
                using var af = Ops.Affine(xt, 1.5, -0.25);
                Close(x.Select(v => v * 1.5 - 0.25).ToArray(), af, dt, $"affine {dt} n={n}");
                using var yt = Make(y, [n], dt);
                Ops.AddInPlace(yt, xt, -2);
                Close(y.Select((v, i) => v - 2 * x[i]).ToArray(), yt, dt, $"axpy {dt} n={n}");
                using var mask = Ops.NonZeroMask(xt);
                Assert.Equal(x.Select(v => v != 0 ? (byte)1 : (byte)0).ToArray(), mask.ToByteArray());
                using var src = Make(y, [n], dt);
                using var mf = Ops.MaskedFill(src, xt);
                Close(y.Select((v, i) => x[i] != 0 ? v : 0).ToArray(), mf, 0.0, $"maskedfill {dt} n={n}");
                Ops.ScaleInPlace(src, 0.5);
                Close(y.Select(v => v * 0.5).ToArray(), src, dt, $"scale {dt} n={n}");
                Ops.FillInPlace(src, 3.25);
                Close(Enumerable.Repeat(3.25, n).ToArray(), src, 0.0, $"fill {dt}");
            }
    });
}
