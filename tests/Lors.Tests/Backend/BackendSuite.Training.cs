// Embedding gather/scatter-add, fused cross-entropy with ignore index, AdamW and the LoRS masked merge.
using Lors.Tensors;

namespace Lors.Tests.Backend;

public abstract partial class BackendSuite
{
    [BackendFact]
    public void EmbeddingGatherAndScatterAdd()
    {
        foreach (var dt in FloatTypes)
            foreach (var (v, c, n) in new[] { (1, 1, 1), (11, 7, 9), (50, 67, 40), (300, 260, 200) })
            {
                var table = Round(Rand(v * c, v + c), dt);
                var ids = Enumerable.Range(0, n).Select(i => (i * 7 + 3) % v).ToArray(); // repeats when n > v
                var gy = Round(Rand(n * c, n), dt);
                using var tt = Make(table, [v, c], dt);
                using var it = MakeInts(ids, [n]);
                using var y = Ops.Embedding(it, tt);
                Assert.Equal([n, c], y.Shape);
                Close(Enumerable.Range(0, n * c).Select(k => table[ids[k / c] * c + k % c]).ToArray(), y, 0.0, $"embedding {dt} {v}x{c}");
                var gdt = dt == DType.F64 ? DType.F64 : DType.F32;
                var g0 = Rand(v * c, 3);
                using var gTable = Make(g0, [v, c], gdt);
                using var gyt = Make(gy, [n, c], dt);
                Ops.EmbeddingBackward(it, gyt, gTable);
                var e = gdt == DType.F32 ? g0.Select(x => (double)(float)x).ToArray() : (double[])g0.Clone();
                for (int i = 0; i < n; i++) for (int j = 0; j < c; j++) e[ids[i] * c + j] += gy[i * c + j];
                Close(e, gTable, gdt == DType.F64 ? 1e-12 : 1e-5, $"embedding backward {dt}", 0.2);
            }
        // ids of any shape: [2, 3] gives [2, 3, C]
        using var t2 = Make(Rand(20, 1), [5, 4], DType.F32);
        using var i2 = MakeInts([0, 1, 2, 3, 4, 0], [2, 3]);
        using var y2 = Ops.Embedding(i2, t2);
        Assert.Equal([2, 3, 4], y2.Shape);
    }

    [BackendFact]
    public void CrossEntropyWithIgnoreIndex() => ForEachLevel(() =>
    {
        foreach (var dt in FloatTypes)
            foreach (var (n, v) in new[] { (1, 1), (4, 5), (9, 67), (6, 1000) })
            {
                var x = Round(Rand(n * v, n + v, -5, 5), dt);
                var t = Enumerable.Range(0, n).Select(i => i % 3 == 1 ? -100 : (i * 13 + 1) % v).ToArray();
                var losses = new double[n];
                var lse = new double[n];
                var g = new double[n * v];
                const float scale = 0.3f;
                for (int r = 0; r < n; r++)
                {
                    var row = x.Skip(r * v).Take(v).ToArray();
                    double mx = row.Max();
                    lse[r] = mx + Math.Log(row.Sum(a => Math.Exp(a - mx)));
                    losses[r] = t[r] == -100 ? 0 : lse[r] - row[t[r]];
                    if (t[r] != -100)
                        for (int j = 0; j < v; j++) g[r * v + j] = scale * (Math.Exp(row[j] - lse[r]) - (j == t[r] ? 1 : 0));
                }
                using var xt = Make(x, [n, v], dt);
                using var tt = MakeInts(t, [n]);
                var (lt, st) = Ops.CrossEntropy(xt, tt);
                using (lt)
                using (st)
                {
                    double tol = dt == DType.F64 ? 1e-12 : 1e-5; // accumulated in double from the stored logits
                    Close(losses, lt, tol, $"ce loss {dt} {n}x{v}", 0.2);
                    Close(lse, st, tol, $"ce lse {dt} {n}x{v}", 0.2);
                    using var gt = Ops.CrossEntropyBackward(xt, tt, st, scale);
                    Close(g, gt, dt, $"ce grad {dt} {n}x{v}", 0.1);
                    var ga = gt.ToDoubleArray();
                    for (int r = 0; r < n; r++)
                        if (t[r] == -100) Assert.All(ga.Skip(r * v).Take(v), a => Assert.Equal(0.0, a));
                }
            }
    });

    [BackendFact]
    public void AdamWMatchesTheDocumentedStep()
    {
        foreach (var gdt in new[] { DType.F32, DType.BF16 })
            for (int n = 0; n <= 67; n += 1)
            {
                var p = Rand(n, n + 1);
                var g = Round(Rand(n, n + 2), gdt);
                var m = Rand(n, n + 3, -0.1, 0.1);
                var v = Rand(n, n + 4, 0, 0.01);
                var a = new AdamWArgs(Lr: 1e-2f, Beta1: 0.9f, Beta2: 0.95f, Eps: 1e-8f, WeightDecay: 0.1f, Step: 3, GradScale: 0.5f);
                using var pt = Make(p, [n], DType.F32);
                using var gt = Make(g, [n], gdt);
                using var mt = Make(m, [n], DType.F32);
                using var vt = Make(v, [n], DType.F32);
                Ops.AdamW(pt, gt, mt, vt, a);
                var ep = new double[n];
                var em = new double[n];
                var ev = new double[n];
                double b1 = a.Beta1, b2 = a.Beta2;
                for (int i = 0; i < n; i++)
                {
                    double gi = g[i] * a.GradScale, pi = (float)p[i];
                    em[i] = b1 * (float)m[i] + (1 - b1) * gi;
                    ev[i] = b2 * (float)v[i] + (1 - b2) * gi * gi;
                    double mh = em[i] / (1 - Math.Pow(b1, a.Step)), vh = ev[i] / (1 - Math.Pow(b2, a.Step));
                    ep[i] = pi - a.Lr * (a.WeightDecay * pi + mh / (Math.Sqrt(vh) + a.Eps));
                }
                Close(em, mt, 1e-5, $"adamw m n={n}");
                Close(ev, vt, 1e-5, $"adamw v n={n}");
                Close(ep, pt, 1e-5, $"adamw p n={n}");
            }
    }

    [BackendFact]
    public void MaskedMergeKeepsZerosExact() => ForEachLevel(() =>
    {
        foreach (var dt in FloatTypes)
            for (int n = 0; n <= 67; n += dt == DType.F32 ? 1 : 5)
            {
                var w = Round(Rand(n, n + 1), dt);
                for (int i = 0; i < n; i += 3) w[i] = 0;
                var d = Rand(n, n + 2, -50, 50);
                if (n > 0) d[0] = double.NaN; // a NaN delta under a zero weight must not leak
                using var wt = Make(w, [n], dt);
                using var dd = Make(d, [n], DType.F32);
                using var y = Ops.MaskedMerge(wt, dd, 0.25f);
                Assert.Equal(dt, y.DType);
                var e = w.Select((x, i) => x != 0 ? x + 0.25 * (float)d[i] : 0).ToArray();
                Close(e, y, dt, $"merge {dt} n={n}");
                var ya = y.ToDoubleArray();
                for (int i = 0; i < n; i++) if (w[i] == 0) Assert.Equal(0.0, ya[i]);
            }
    });

    [BackendFact]
    public void MaskedLowRankMergeMatchesTheUnfusedMerge() => ForEachLevel(() =>
    {
        const float s = 0.7f;
        foreach (var dt in FloatTypes)
            foreach (var (o, n, r) in new[] { (0, 5, 3), (4, 0, 2), (1, 1, 1), (7, 33, 16), (37, 40, 5), (3, 70, 20), (2, 17, 0) })
            {
                var adt = dt == DType.F64 ? DType.F64 : DType.F32;
                var w = Round(Rand(o * n, o + n + r), dt);
                for (int i = 0; i < w.Length; i += 3) w[i] = 0;
                var a = Round(Rand(o * r, o + 1, -2, 2), adt);
                var b = Round(Rand(r * n, n + 2, -2, 2), adt);
                if (b.Length > 0) b[0] = double.NaN; // column 0 of A B is NaN: zero weights there must stay exactly zero
                var e = new double[o * n];
                for (int row = 0; row < o; row++)
                    for (int col = 0; col < n; col++)
                    {
                        double acc = 0;
                        for (int k = 0; k < r; k++) acc += a[row * r + k] * b[k * n + col];
                        e[row * n + col] = w[row * n + col] != 0 ? w[row * n + col] + s * acc : 0;
                    }
                using var wt = Make(w, [o, n], dt);
                using var at = Make(a, [o, r], adt);
                using var bt = Make(b, [r, n], adt);
                using var y = Ops.MaskedLowRankMerge(wt, at, bt, s);
                Assert.Equal(dt, y.DType);
                Close(e, y, dt, $"fused merge {dt} [{o},{n}] r={r}", 0.05, 1e-5);
                var ya = y.ToDoubleArray();
                for (int i = 0; i < ya.Length; i++) if (w[i] == 0) Assert.Equal(0.0, ya[i]);
                // The unfused composition (A B in fp32, then the masked merge) agrees to fp32 rounding of the sum.
                using var ab = Ops.MatMul(at, bt);
                using var u = Ops.MaskedMerge(wt, ab, s);
                Close(u.ToDoubleArray(), y, dt == DType.F64 ? 1e-12 : dt == DType.F32 ? 2e-6 : Tol(dt), $"fused vs unfused {dt} [{o},{n}] r={r}", 0.05, 1e-5);
            }
        // bf16 adapters are widened exactly.
        using var w16 = Make(Round(Rand(6 * 24, 9), DType.BF16), [6, 24], DType.BF16);
        using var a16 = Make(Round(Rand(6 * 4, 10), DType.BF16), [6, 4], DType.BF16);
        using var b16 = Make(Round(Rand(4 * 24, 11), DType.BF16), [4, 24], DType.BF16);
        using var a32 = a16.To(DType.F32);
        using var b32 = b16.To(DType.F32);
        using var y16 = Ops.MaskedLowRankMerge(w16, a16, b16, s);
        using var y32 = Ops.MaskedLowRankMerge(w16, a32, b32, s);
        Assert.Equal(y32.ToDoubleArray(), y16.ToDoubleArray());
    });

    [BackendFact]
    public void MaskedLowRankMergeRejectsMismatchedShapes()
    {
        using var w = Make(Rand(12, 1), [3, 4], DType.F32);
        using var a = Make(Rand(6, 2), [3, 2], DType.F32);
        using var b = Make(Rand(6, 3), [2, 3], DType.F32);
        Throws<ArgumentException>(() => Ops.MaskedLowRankMerge(w, a, b, 1f).Dispose(), "MaskedLowRankMerge", "[3, 4]", "[2, 3]");
    }
}
