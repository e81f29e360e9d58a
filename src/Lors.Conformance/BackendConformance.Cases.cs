// The conformance cases: every IBackend op with odd sizes, non-contiguous views, broadcasting, F32 and BF16.
using Lors.Tensors;

namespace Lors.Conformance;

public sealed partial class BackendConformance
{
    private void Memory()
    {
        foreach (var (from, to) in new[] { (DType.F32, DType.BF16), (DType.BF16, DType.F32), (DType.F32, DType.F16), (DType.F16, DType.F32), (DType.F32, DType.F32), (DType.BF16, DType.BF16) })
            Case("Copy", $"contiguous {from.Name()}->{to.Name()} [1031]", d => Out(In(d, [1031], 1, from, -3, 3).To(to)), Tolerance.Exact);
        Case("Copy", "transposed f32 [37,53]^T", d => Out(In(d, [37, 53], 2).T().Contiguous()), Tolerance.Exact);
        Case("Copy", "permuted bf16->f32 [2,3,5,7] (0,2,3,1)", d => Out(In(d, [2, 3, 5, 7], 3, DType.BF16).Permute(0, 2, 3, 1).To(DType.F32)), Tolerance.Exact);
        Case("Copy", "expanded (stride 0) [1,33]->[9,33]", d => Out(In(d, [1, 33], 4).Expand(9, 33).Contiguous()), Tolerance.Exact);
        Case("Copy", "narrowed [17,40] cols 3..32", d => Out(In(d, [17, 40], 5).Narrow(1, 3, 29).To(DType.BF16)), Tolerance.Exact);
        Case("Copy", "i32 and u8 round trip", d =>
        {
            var i = Ints(d, Enumerable.Range(-50, 131).ToArray(), [131]);
            var u = Move(Tensor.FromArray(Enumerable.Range(0, 200).Select(x => (byte)x).ToArray(), [200], Device.Cpu), d);
            return Out(i.Narrow(0, 1, 100).Contiguous(), i.To(DType.F32), u, u.To(DType.F32).To(DType.U8));
        }, Tolerance.Exact);
        Case("Copy", "float->i32 truncation", d => Out(In(d, [64], 6, DType.F32, -100, 100).To(DType.I32)), Tolerance.Exact);
        foreach (var dt in new[] { DType.F32, DType.BF16, DType.F16, DType.I32, DType.U8 })
            Case("Fill", $"{dt.Name()} [515]", d => Out(Tensor.Full([515], 3.25, dt, d)), Tolerance.Exact);
        foreach (var dt in FloatTypes)
        {
            Case("RandomNormal", $"{dt.Name()} [4099] seed 7", d => Out(Ops.RandomNormal([4099], 7, 0.5, 2, dt, d)), Tolerance.For(dt));
            Case("RandomUniform", $"{dt.Name()} [4099] seed 8", d => Out(Ops.RandomUniform([4099], 8, -2, 3, dt, d)), Tolerance.For(dt));
        }
    }

    private void Elementwise()
    {
        foreach (var dt in FloatTypes)
            foreach (UnaryOp op in Enum.GetValues<UnaryOp>())
            {
                bool positive = op is UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Rsqrt or UnaryOp.Reciprocal;
                double lo = positive ? 0.25 : -4, hi = positive ? 4 : 4;
                Case("Unary", $"{op} {dt.Name()} [37,53]", d => Out(Ops.Unary(op, In(d, [37, 53], 10, dt, lo, hi))), Tolerance.For(dt));
                Case("UnaryBackward", $"{op} {dt.Name()} [37,53]", d => Out(Ops.UnaryBackward(op, In(d, [37, 53], 11, dt, lo, hi), In(d, [37, 53], 12, dt))), Tolerance.For(dt));
            }
        Case("Unary", "Exp on transposed view", d => Out(Ops.Exp(In(d, [19, 23], 13).T())));
        foreach (var dt in FloatTypes)
            foreach (BinaryOp op in Enum.GetValues<BinaryOp>())
            {
                double lo = op == BinaryOp.Pow ? 0.5 : -2, hi = 2;
                Case("Binary", $"{op} {dt.Name()} same shape [7,33]", d => Out(Ops.Binary(op, In(d, [7, 33], 20, dt, lo, hi), In(d, [7, 33], 21, dt, op == BinaryOp.Div ? 0.5 : -2, 2))), Tolerance.For(dt));
                Case("Binary", $"{op} {dt.Name()} broadcast [7,1,33]x[5,1]", d => Out(Ops.Binary(op, In(d, [7, 1, 33], 22, dt, lo, hi), In(d, [5, 1], 23, dt, 0.5, 2))), Tolerance.For(dt));
            }
        Case("Binary", "Add transposed a + row vector", d => Out(Ops.Add(In(d, [40, 30], 24).T(), In(d, [40], 25))));
        Case("Binary", "Mul bf16 x f32 -> f32", d => Out(Ops.Mul(In(d, [9, 65], 26, DType.BF16), In(d, [9, 65], 27))));
        foreach (var dt in FloatTypes)
        {
            Case("Affine", $"{dt.Name()} [1000]", d => Out(Ops.Affine(In(d, [1000], 30, dt), 1.5, -0.25)), Tolerance.For(dt));
            Case("Affine", $"in place scale {dt.Name()}", d => { var y = In(d, [333], 31, dt); Ops.ScaleInPlace(y, -3); return Out(y); }, Tolerance.For(dt));
            Case("Axpy", $"{dt.Name()} y += 0.3 x", d => { var y = In(d, [21, 17], 32, dt); Ops.AddInPlace(y, In(d, [21, 17], 33, dt), 0.3); return Out(y); }, Tolerance.For(dt));
            Case("MaskedFill", $"{dt.Name()} u8 mask", d =>
            {
                var x = In(d, [301], 34, dt);
                var m = Ops.NonZeroMask(Ops.Unary(UnaryOp.Relu, In(d, [301], 35)));
                return Out(Ops.MaskedFill(x, m));
            }, Tolerance.Exact);
            Case("MaskedFill", $"{dt.Name()} float mask", d => Out(Ops.MaskedFill(In(d, [301], 36, dt), Ops.Unary(UnaryOp.Relu, In(d, [301], 37, dt)))), Tolerance.Exact);
            Case("NonZero", $"{dt.Name()} with zeros", d => Out(Ops.NonZeroMask(Ops.Unary(UnaryOp.Relu, In(d, [257], 38, dt)))), Tolerance.Exact);
        }
        Case("Axpy", "f32 y += bf16 x", d => { var y = In(d, [100], 39); Ops.AddInPlace(y, In(d, [100], 40, DType.BF16), -2); return Out(y); });
    }

    private void Reductions()
    {
        foreach (var dt in FloatTypes)
            foreach (ReduceOp op in Enum.GetValues<ReduceOp>())
            {
                var tol = Tolerance.Sum(DType.F32, 300, 1);
                for (int axis = 0; axis < 3; axis++)
                    Case("Reduce", $"{op} {dt.Name()} [5,300,7] axis {axis}", d => Out(Ops.Reduce(op, In(d, [5, 300, 7], 50, dt), axis)), tol);
                Case("Reduce", $"{op} {dt.Name()} long rows [3,70001]", d => Out(Ops.Reduce(op, In(d, [3, 70001], 51, dt), 1)), Tolerance.Sum(DType.F32, 70001, 1));
                Case("Reduce", $"{op} {dt.Name()} long column [70001,3]", d => Out(Ops.Reduce(op, In(d, [70001, 3], 52, dt), 0)), Tolerance.Sum(DType.F32, 70001, 1));
            }
        Case("Reduce", "SumAll f32 [200003]", d => Out(Ops.SumAll(In(d, [200003], 53))), Tolerance.Sum(DType.F32, 200003, 1));
        Case("Reduce", "MeanAll of transposed view", d => Out(Ops.MeanAll(In(d, [33, 45], 54).T())), Tolerance.Sum(DType.F32, 1500, 1));
        AllFiniteCases();
        foreach (var dt in FloatTypes)
            Case("ArgMax", $"{dt.Name()} [17,1000]", d => Out(Ops.ArgMax(In(d, [17, 1000], 55, dt))), Tolerance.Exact);
        Case("ArgMax", "ties pick the first", d => Out(Ops.ArgMax(FromValues(d, [1, 3, 3, 0, 5, 5, 5, 2, -1, -1, -1, -1], [3, 4]))), Tolerance.Exact);
    }

    private void MatMuls()
    {
        foreach (var (m, n, k) in new[] { (64, 48, 32), (37, 29, 53), (1, 130, 7), (129, 1, 66) })
            foreach (var ta in new[] { false, true })
                foreach (var tb in new[] { false, true })
                {
                    var tol = new Tolerance(2e-6 * k, 2e-5);
                    Case("MatMul", $"f32 {m}x{n}x{k} ta={ta} tb={tb}", d =>
                    {
                        var a = In(d, ta ? [k, m] : [m, k], 60);
                        var b = In(d, tb ? [n, k] : [k, n], 61);
                        return Out(Ops.MatMul(a, b, ta, tb));
                    }, tol);
                    Case("MatMul", $"bf16 -> f32 {m}x{n}x{k} ta={ta} tb={tb}", d =>
                    {
                        var a = In(d, ta ? [k, m] : [m, k], 62, DType.BF16);
                        var b = In(d, tb ? [n, k] : [k, n], 63, DType.BF16);
                        return Out(Ops.MatMul(a, b, ta, tb, DType.F32));
                    }, tol);
                }
        Case("MatMul", "bf16 -> bf16 [96x80x72]", d => Out(Ops.MatMul(In(d, [96, 72], 64, DType.BF16), In(d, [72, 80], 65, DType.BF16), outType: DType.BF16)), new Tolerance(2e-2, 2e-2));
        Case("MatMul", "mixed bf16 x f32 -> f32", d => Out(Ops.MatMul(In(d, [33, 40], 66, DType.BF16), In(d, [40, 21], 67), outType: DType.F32)), new Tolerance(1e-4, 2e-5));
        Case("MatMul", "batched [3,17,24]x[3,24,19]", d => Out(Ops.MatMul(In(d, [3, 17, 24], 68), In(d, [3, 24, 19], 69))), new Tolerance(1e-4, 2e-5));
        Case("MatMul", "batched a, broadcast 2-D b^T", d => Out(Ops.MatMul(In(d, [4, 9, 31], 70), In(d, [12, 31], 71), transB: true)), new Tolerance(1e-4, 2e-5));
        Case("MatMul", "broadcast 2-D a, batched b (bf16)", d => Out(Ops.MatMul(In(d, [9, 31], 72, DType.BF16), In(d, [4, 31, 12], 73, DType.BF16), outType: DType.F32)), new Tolerance(1e-4, 2e-5));
        Case("MatMul", "alpha 0.5, beta 2 accumulate", d =>
        {
            var c = In(d, [23, 19], 74);
            Ops.MatMulInto(In(d, [23, 27], 75), In(d, [27, 19], 76), c, alpha: 0.5f, beta: 2f);
            return Out(c);
        }, new Tolerance(1e-4, 2e-5));
        Case("MatMul", "beta 0 ignores NaN in c", d =>
        {
            var c = Tensor.Full([8, 8], double.NaN, DType.F32, d);
            Ops.MatMulInto(In(d, [8, 5], 77), In(d, [5, 8], 78), c);
            return Out(c);
        }, new Tolerance(1e-5, 2e-5));
        Case("MatMul", "transposed view operand", d => Out(Ops.MatMul(In(d, [20, 30], 79).T(), In(d, [20, 11], 80))), new Tolerance(1e-4, 2e-5));
    }

    private void NnRows()
    {
        foreach (var dt in FloatTypes)
            foreach (var log in new[] { false, true })
            {
                string s = log ? "LogSoftmax" : "Softmax";
                Case("Softmax", $"{s} {dt.Name()} [13,257]", d => Out(Ops.Softmax(In(d, [13, 257], 90, dt, -5, 5), log)), Tolerance.For(dt));
                Case("Softmax", $"{s} {dt.Name()} wide [3,40000]", d => Out(Ops.Softmax(In(d, [3, 40000], 91, dt, -5, 5), log)), Tolerance.For(dt));
                Case("SoftmaxBackward", $"{s} {dt.Name()} [13,257]", d =>
                {
                    var y = Ops.Softmax(In(d, [13, 257], 92, dt, -5, 5), log);
                    return Out(Ops.SoftmaxBackward(y, In(d, [13, 257], 93, dt), log));
                }, dt == DType.F32 ? new Tolerance(1e-5, 1e-4) : Tolerance.BF16);
            }
        foreach (var dt in FloatTypes)
        {
            Case("RmsNorm", $"{dt.Name()} [29,96]", d =>
            {
                var (y, rstd) = Ops.RmsNorm(In(d, [29, 96], 94, dt, -2, 2), In(d, [96], 95, dt, 0.5, 1.5), 1e-5f);
                return Out(y, rstd);
            }, Tolerance.For(dt), Tolerance.F32);
            Case("RmsNormBackward", $"{dt.Name()} [2,29,96]", d =>
            {
                var x = In(d, [2, 29, 96], 96, dt, -2, 2);
                var w = In(d, [96], 97, dt, 0.5, 1.5);
                var (_, rstd) = Ops.RmsNorm(x, w, 1e-5f);
                var (gx, gw) = Ops.RmsNormBackward(x, w, rstd, In(d, [2, 29, 96], 98, dt));
                return Out(gx, gw);
            }, dt == DType.F32 ? new Tolerance(1e-5, 1e-4) : Tolerance.BF16, Tolerance.Sum(DType.F32, 58, 4));
        }
        foreach (var dt in FloatTypes)
        {
            int[] targets = [3, 999, -100, 0, 512, 7, -100, 250, 1];
            Case("CrossEntropy", $"{dt.Name()} [9,1000] with ignored rows", d =>
            {
                var (loss, lse) = Ops.CrossEntropy(In(d, [9, 1000], 99, dt, -8, 8), Ints(d, targets, [9]));
                return Out(loss, lse);
            }, new Tolerance(1e-4, 1e-5));
            Case("CrossEntropyBackward", $"{dt.Name()} [9,1000] scale 1/7", d =>
            {
                var logits = In(d, [9, 1000], 100, dt, -8, 8);
                var t = Ints(d, targets, [9]);
                var (_, lse) = Ops.CrossEntropy(logits, t);
                return Out(Ops.CrossEntropyBackward(logits, t, lse, 1f / 7));
            }, dt == DType.F32 ? new Tolerance(1e-7, 1e-4) : new Tolerance(1e-4, 1.6e-2));
        }
    }

    private void NnLayers()
    {
        foreach (var dt in FloatTypes)
            foreach (var inverse in new[] { false, true })
                Case("Rope", $"{dt.Name()} [2,3,5,16] inverse={inverse}", d =>
                {
                    var (cos, sin) = RopeTables(d, 5, 16, dt);
                    return Out(Ops.Rope(In(d, [2, 3, 5, 16], 110, dt), cos, sin, inverse));
                }, Tolerance.For(dt));
        // RoPE fused with the head permute: tokens-first in (the forward), heads-first in (the backward); T = 1 too.
        foreach (var dt in FloatTypes)
            foreach (var (inverse, tokensFirst, t, dim) in new[] { (false, true, 7, 16), (true, false, 7, 16), (false, true, 1, 64), (true, false, 5, 128) })
                Case("RopeSwap", $"{dt.Name()} T={t} D={dim} {(tokensFirst ? "[B,T,H,D] in" : "[B,H,T,D] in")} inverse={inverse}", d =>
                {
                    var (cos, sin) = RopeTables(d, t, dim, dt);
                    int[] shape = tokensFirst ? [2, t, 3, dim] : [2, 3, t, dim];
                    return Out(Ops.RopeSwap(In(d, shape, 121, dt), cos, sin, inverse, tokensFirst));
                }, Tolerance.For(dt));
        foreach (var dt in FloatTypes)
        {
            Case("SwiGlu", $"{dt.Name()} [11,70]", d => Out(Ops.SwiGlu(In(d, [11, 70], 111, dt, -4, 4), In(d, [11, 70], 112, dt))), Tolerance.For(dt));
            Case("SwiGluBackward", $"{dt.Name()} [11,70]", d =>
            {
                var (gg, gu) = Ops.SwiGluBackward(In(d, [11, 70], 113, dt, -4, 4), In(d, [11, 70], 114, dt), In(d, [11, 70], 115, dt));
                return Out(gg, gu);
            }, Tolerance.For(dt));
        }
        int[] ids = [3, 7, 3, 0, 49, 7, 7, 12, 3, 25, 0];
        foreach (var dt in FloatTypes)
        {
            Case("Embedding", $"{dt.Name()} V=50 C=24, ids [11]", d => Out(Ops.Embedding(Ints(d, ids, [11]), In(d, [50, 24], 116, dt))), Tolerance.Exact);
            Case("EmbeddingBackward", $"gTable {dt.Name()} with repeated ids", d =>
            {
                var g = In(d, [50, 24], 117, dt);
                Ops.EmbeddingBackward(Ints(d, ids, [11]), In(d, [11, 24], 118, dt), g);
                return Out(g);
            }, Tolerance.For(dt));
        }
        Case("Embedding", "2-D ids [2,3]", d => Out(Ops.Embedding(Ints(d, [1, 2, 3, 4, 5, 6], [2, 3]), In(d, [10, 8], 119))), Tolerance.Exact);
        Throws<ArgumentOutOfRangeException>("Embedding", "id out of range throws", d => Ops.Embedding(Ints(d, [1, 50], [2]), In(d, [50, 4], 120)));
    }

    private static (Tensor cos, Tensor sin) RopeTables(Device d, int t, int dim, DType dt)
    {
        // Hugging Face layout: the frequencies repeat for the two halves.
        var cos = new float[t * dim];
        var sin = new float[t * dim];
        for (int p = 0; p < t; p++)
            for (int i = 0; i < dim; i++)
            {
                double f = p / Math.Pow(10000, 2.0 * (i % (dim / 2)) / dim);
                cos[p * dim + i] = (float)Math.Cos(f);
                sin[p * dim + i] = (float)Math.Sin(f);
            }
        return (FromValues(d, cos, [t, dim], dt), FromValues(d, sin, [t, dim], dt));
    }

    private void Attention()
    {
        var shapes = new[] { (2, 4, 2, 13, 13, 16), (1, 2, 1, 5, 11, 40), (1, 3, 3, 9, 9, 64), (1, 2, 2, 4, 6, 128) };
        foreach (var dt in FloatTypes)
            foreach (var (b, hq, hkv, t, s, dim) in shapes)
            {
                float scale = 1f / MathF.Sqrt(dim);
                string shape = $"q [{b},{hq},{t},{dim}] kv [{b},{hkv},{s},{dim}]";
                var tol = dt == DType.F32 ? new Tolerance(2e-5, 1e-4) : new Tolerance(2e-2, 3e-2);
                Case("Attention", $"{dt.Name()} {shape}", d =>
                {
                    var (o, lse) = Ops.Attention(In(d, [b, hq, t, dim], 130, dt, -2, 2), In(d, [b, hkv, s, dim], 131, dt, -2, 2), In(d, [b, hkv, s, dim], 132, dt), scale);
                    return Out(o, lse);
                }, tol, new Tolerance(1e-4, 1e-4));
                Case("AttentionBackward", $"{dt.Name()} {shape}", d =>
                {
                    var q = In(d, [b, hq, t, dim], 133, dt, -2, 2);
                    var k = In(d, [b, hkv, s, dim], 134, dt, -2, 2);
                    var v = In(d, [b, hkv, s, dim], 135, dt);
                    var (o, lse) = Ops.Attention(q, k, v, scale);
                    var (gq, gk, gv) = Ops.AttentionBackward(q, k, v, o, lse, In(d, [b, hq, t, dim], 136, dt), scale);
                    return Out(gq, gk, gv);
                }, dt == DType.F32 ? new Tolerance(5e-5, 2e-4) : new Tolerance(5e-2, 5e-2));
            }
    }

    private void Training()
    {
        foreach (var gt in FloatTypes)
            Case("AdamW", $"f32 param, {gt.Name()} grad, step 3", d =>
            {
                var p = In(d, [257], 140);
                var m = In(d, [257], 141, DType.F32, -0.1, 0.1);
                var v = In(d, [257], 142, DType.F32, 0, 0.01);
                Ops.AdamW(p, In(d, [257], 143, gt), m, v, new AdamWArgs(1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 3, 0.5f));
                return Out(p, m, v);
            }, new Tolerance(1e-6, 1e-5));
        foreach (var dt in FloatTypes)
            Case("MaskedMerge", $"{dt.Name()} w with zeros", d =>
            {
                var w = Ops.MaskedFill(In(d, [31, 45], 144, dt), Ops.NonZeroMask(Ops.Unary(UnaryOp.Relu, In(d, [31, 45], 145))));
                var y = Ops.MaskedMerge(w, In(d, [31, 45], 146), 0.37f);
                return Out(y, Ops.NonZeroMask(y).To(DType.F32), Ops.NonZeroMask(w).To(DType.F32));
            }, Tolerance.For(dt), Tolerance.Exact, Tolerance.Exact);
        // The fused merge: O not a multiple of the 32-row tile; I a multiple of 8 (16-byte path) or not (edge path) and
        // wider than one 256-column tile; r below, at and above the 16-wide rank chunk; bf16 adapters.
        foreach (var dt in FloatTypes)
            foreach (var (o, i, r, adt) in new[] { (37, 264, 16, DType.F32), (33, 45, 1, DType.F32), (5, 300, 20, DType.F32), (40, 272, 16, DType.BF16) })
                Case("MaskedLowRankMerge", $"{dt.Name()} w [{o},{i}], r={r}, {adt.Name()} a/b", d =>
                {
                    var w = Ops.MaskedFill(In(d, [o, i], 147, dt), Ops.NonZeroMask(Ops.Unary(UnaryOp.Relu, In(d, [o, i], 148))));
                    var y = Ops.MaskedLowRankMerge(w, In(d, [o, r], 149, adt), In(d, [r, i], 150, adt), 0.37f);
                    return Out(y, Ops.NonZeroMask(y).To(DType.F32), Ops.NonZeroMask(w).To(DType.F32));
                }, Tolerance.For(dt), Tolerance.Exact, Tolerance.Exact);
        Case("MaskedLowRankMerge", "bf16 w, unaligned view (offset 3 elements)", d =>
        {
            var w = In(d, [3 + 9 * 64], 151, DType.BF16).Narrow(0, 3, 9 * 64).Reshape(9, 64);
            return Out(Ops.MaskedLowRankMerge(w, In(d, [9, 4], 152), In(d, [4, 64], 153), -1.5f));
        }, Tolerance.For(DType.BF16));
    }

    /// <summary>Ops.AllFinite (the load-time NaN/Inf check): one planted NaN/Inf anywhere, or large finite values.
    /// The answer is known, so a wrong one throws (and fails the case) even if both devices agree.</summary>
    private void AllFiniteCases()
    {
        foreach (var dt in FloatTypes)
            foreach (var (what, index, value) in new[] { ("clean", -1, 0f), ("NaN first", 0, float.NaN), ("+Inf last", 70000, float.PositiveInfinity),
                         ("-Inf middle", 35001, float.NegativeInfinity), ("1e30 finite", 17, 1e30f) })
                Case("AllFinite", $"{dt.Name()} [70001] {what}", d =>
                {
                    var values = Ops.RandomUniform([70001], 56, -1, 1, DType.F32, Device.Cpu).ToFloatArray();
                    if (index >= 0) values[index] = value;
                    bool expected = index < 0 || float.IsFinite(value);
                    bool got = Ops.AllFinite(FromValues(d, values, [70001], dt));
                    if (got != expected) throw new InvalidOperationException($"AllFinite returned {got}, expected {expected}");
                    return [[got ? 1f : 0f]];
                }, Tolerance.Exact);
    }
}
