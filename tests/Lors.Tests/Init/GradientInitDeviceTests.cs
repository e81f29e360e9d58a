// The device gradient init against its slow reference (autograd leaf gradients + host Gram-Schmidt randomized SVD),
// same seed, on the CPU backend: singular values, singular vectors up to sign, the grouped (budgeted) passes against
// one pass, and the Cholesky-QR orthonormalization against Gram-Schmidt.
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Adapters;
using Lors.Train.Init;
using Lors.Train.Pruning;

namespace Lors.Tests.Init;

public sealed class GradientInitDeviceTests
{
    private static double[] Random(int m, int n, ulong seed, double[]? colScale = null)
    {
        var a = new double[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) a[i * n + j] = Lors.Tensors.Rng.Normal(seed, i * n + j) * (colScale?[j] ?? 1);
        return a;
    }

    [Theory]
    [InlineData(200, 16, false)]
    [InlineData(500, 24, true)]    // columns scaled over five orders of magnitude: Cholesky needs the repeat passes
    public void CholeskyQrMatchesGramSchmidt(int m, int l, bool illConditioned)
    {
        var scale = illConditioned ? Enumerable.Range(0, l).Select(j => Math.Pow(10, -5.0 * j / (l - 1))).ToArray() : null;
        var y = Random(m, l, 7, scale);
        // Mix the columns so the conditioning is not just a column scaling.
        for (int i = 0; i < m; i++) for (int j = 1; j < l; j++) y[i * l + j] += 0.5 * y[i * l + j - 1];
        var gs = (double[])y.Clone();
        Svd.OrthonormalizeColumns(gs, m, l);
        using var scope = TensorScope.Begin();
        var q = Svd.OrthonormalOnDevice(Tensor.FromArray(y, [m, l], dtype: DType.F32)).ToDoubleArray();
        for (int i = 0; i < l; i++)
            for (int j = 0; j < l; j++)
            {
                double dot = 0;
                for (int k = 0; k < m; k++) dot += q[k * l + i] * q[k * l + j];
                Assert.True(Math.Abs(dot - (i == j ? 1 : 0)) < 1e-5, $"q^T q [{i},{j}] = {dot}");
            }
        // Same factorization (R with a positive diagonal): same columns, not just the same span, where fp32 can resolve them.
        int resolved = illConditioned ? l / 2 : l;
        for (int j = 0; j < resolved; j++)
        {
            double dot = 0;
            for (int k = 0; k < m; k++) dot += q[k * l + j] * gs[k * l + j];
            Assert.True(dot > 1 - 1e-4, $"column {j}: cos {dot}");
        }
    }

    [Theory]
    [InlineData(40, 30, 4)]
    [InlineData(96, 64, 8)]
    public void DeviceRandomizedSvdMatchesTheHostOne(int m, int n, int r)
    {
        var a = new double[m * n];
        for (int k = 0; k < Math.Min(m, n); k++)
        {
            double s = Math.Pow(0.7, k);
            for (int i = 0; i < m; i++) for (int j = 0; j < n; j++)
                a[i * n + j] += s * Lors.Tensors.Rng.Normal(100 + (ulong)k, i) * Lors.Tensors.Rng.Normal(500 + (ulong)k, j) / Math.Sqrt(m * n);
        }
        using var scope = TensorScope.Begin();
        var g = Tensor.FromArray(a, [m, n], dtype: DType.F32);
        var (s0, v0) = Svd.Randomized(g, r, seed: 9);
        var (s1, vt) = Svd.RandomizedOnDevice(g, r, seed: 9);
        var v1 = vt.ToDoubleArray();
        for (int t = 0; t < r; t++)
        {
            Assert.True(Math.Abs(s0[t] - s1[t]) < 1e-5 * s0[0], $"sigma {t}: {s0[t]} vs {s1[t]}");
            double dot = 0;
            for (int c = 0; c < n; c++) dot += v0[t * n + c] * v1[t * n + c];
            Assert.True(Math.Abs(Math.Abs(dot) - 1) < 1e-4, $"vector {t}: |cos| = {Math.Abs(dot)}");
        }
    }

    private static LlamaModel Pruned()
    {
        var m = LlamaModel.Load(RepoPaths.TinyModel);
        Pruner.Prune(m, new PruneOptions { Method = PruneMethod.Magnitude, Pattern = new SparsityPattern.NM(2, 4) }, null);
        return m;
    }

    private static List<(Tensor, Tensor)> Batches()
    {
        var ids = Enumerable.Range(0, 2 * 48).Select(i => (int)(Lors.Tensors.Rng.Uniform(77, i) * 4000) + 3).ToArray();
        return [(Tensor.FromArray(ids[..48], [1, 48]), Tensor.FromArray(ids[1..49], [1, 48])),
                (Tensor.FromArray(ids[48..], [1, 48]), Tensor.FromArray(ids[48..], [1, 48]))];
    }

    private static (GradientInit.Report report, List<float[]> b) Init(bool reference, long? budget = null, bool checkpointLayers = false)
    {
        using var model = Pruned();
        using var set = AdapterSet.Attach(model, new AdapterConfig { Rank = 4, Seed = 5 });
        if (checkpointLayers)   // as `finetune --checkpoint-layers` sets it: the recompute's parameters are the adapters'
            model.LayerRunner = (layer, x, cos, sin) => Lors.Autograd.Recompute.Run(v => layer.Forward(v[0], cos, sin), [x],
                Projections.All.Select(p => layer[p]).OfType<AdaptedLinear>().SelectMany(a => new[] { a.A, a.B }).ToList());
        var report = reference ? GradientInit.RunReference(model, set, Batches()) : GradientInit.Run(model, set, Batches(), budgetBytes: budget);
        Assert.All(set.Adapters, a => Assert.All(a.A.Data.ToFloatArray(), v => Assert.Equal(0f, v)));
        return (report, set.Adapters.Select(a => a.B.Data.ToFloatArray()).ToList());
    }

    [Fact]
    public void DeviceInitMatchesTheReferenceUpToSign()
    {
        var (r0, b0) = Init(reference: true);
        var (r1, b1) = Init(reference: false);
        Assert.Equal(1, r1.Passes);
        Assert.Equal(r0.Layers.Count, r1.Layers.Count);
        int checkedVectors = 0;
        for (int i = 0; i < b0.Count; i++)
        {
            Assert.Equal(r0.Layers[i].Name, r1.Layers[i].Name);
            Assert.True(Math.Abs(r0.Layers[i].TopSigma - r1.Layers[i].TopSigma) < 1e-4 * r0.Layers[i].TopSigma, $"{r0.Layers[i].Name}: sigma {r0.Layers[i].TopSigma} vs {r1.Layers[i].TopSigma}");
            int n = b0[i].Length / 4;
            for (int t = 0; t < 4; t++)
            {
                double dot = 0, n0 = 0, n1 = 0;
                for (int c = 0; c < n; c++) { dot += b0[i][t * n + c] * b1[i][t * n + c]; n0 += b0[i][t * n + c] * b0[i][t * n + c]; n1 += b1[i][t * n + c] * b1[i][t * n + c]; }
                Assert.Equal(1.0, n1, 4);
                double cos = Math.Abs(dot) / Math.Sqrt(n0 * n1);
                // Only the leading vector's gap is known from the report; later ones may sit in near-degenerate pairs.
                if (t == 0) { Assert.True(cos > 0.999, $"{r0.Layers[i].Name} vector 0: |cos| {cos}"); checkedVectors++; }
            }
        }
        Assert.Equal(b0.Count, checkedVectors);
    }

    [Fact]
    public void BudgetedPassesGiveTheSameInit()
    {
        var (r1, b1) = Init(reference: false);
        // 256 x 688 x 4 bytes is one MLP matrix; a budget below one layer takes the layers one at a time.
        var (r2, b2) = Init(reference: false, budget: 1_000_000);
        Assert.Equal(6, r2.Passes);
        Assert.True(r2.AccumulatorBytes < r1.AccumulatorBytes);
        for (int i = 0; i < b1.Count; i++)
            for (int k = 0; k < b1[i].Length; k++)
                Assert.True(Math.Abs(b1[i][k] - b2[i][k]) < 1e-5, $"matrix {i} element {k}: {b1[i][k]} vs {b2[i][k]}");
    }

    [Fact]
    public void LayerCheckpointingDoesNotEmptyTheInit()
    {
        var (_, b1) = Init(reference: false);
        var (r3, b3) = Init(reference: false, checkpointLayers: true);
        Assert.All(r3.Layers, l => Assert.True(l.TopSigma > 0, l.Name));
        for (int i = 0; i < b1.Count; i++)
            for (int k = 0; k < b1[i].Length; k++)
                Assert.True(Math.Abs(b1[i][k] - b3[i][k]) < 1e-5, $"matrix {i} element {k}: {b1[i][k]} vs {b3[i][k]}");
    }

    [Fact]
    public void LayersAreGroupedWithinTheBudget()
    {
        var m = Enumerable.Range(0, 4).SelectMany(l => new[] { (l, 30L), (l, 20L) }).ToList();
        var g = GradientInit.GroupByLayer(m, 100);
        Assert.Equal([[0, 1], [2, 3]], g.Select(s => s.Order().ToArray()).ToArray());
        Assert.Equal(4, GradientInit.GroupByLayer(m, 10).Count);   // a layer over the budget still goes, alone
        Assert.Single(GradientInit.GroupByLayer(m, long.MaxValue));
    }
}
