// Adapters on the fixture model: step 0 equals the base model; merging keeps every zero for LoRS (and the merged
// model computes what the adapted one did) while LoRA fills zeros; save/load round-trips; the gradient init.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Adapters;
using Lors.Train.Init;
using Lors.Train.Pruning;

namespace Lors.Tests.Adapters;

public sealed class AdapterTests
{
    private static int[] Ids => TinyPruned.Ids;
    private static LlamaModel PrunedModel() => TinyPruned.Model();
    private static float[] Logits(LlamaModel m) => TinyPruned.Logits(m);

    /// <summary>Gives A random values so the adapters change the output (A is zero after attach).</summary>
    private static void Perturb(AdapterSet set)
    {
        ulong k = 1;
        foreach (var a in set.Adapters)
        {
            using var r = Ops.RandomNormal(a.A.Shape, k++, 0, 0.05);
            Ops.CopyInto(r, a.A.Data);
        }
    }

    private static double MaxRel(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max() / b.Max(Math.Abs);

    [Theory]
    [InlineData(AdapterMethod.Lors)]
    [InlineData(AdapterMethod.Lora)]
    [InlineData(AdapterMethod.Masked)]
    [InlineData(AdapterMethod.MaskedCheckpoint)]
    public void AtStepZeroTheAdaptedModelEqualsTheBase(AdapterMethod method)
    {
        using var model = PrunedModel();
        var before = Logits(model);
        using var set = AdapterSet.Attach(model, new AdapterConfig { Method = method, Rank = 4, Alpha = 8 });
        Assert.Equal(7 * 6, set.Adapters.Count);
        Assert.True(MaxRel(Logits(model), before) < 1e-6);
    }

    [Fact]
    public void LorsMergeKeepsEveryZeroAndComputesTheSameFunction()
    {
        using var model = PrunedModel();
        var zeros = model.Linears().Select(x => Ops.NonZeroMask(x.linear.Weight.Data).ToByteArray()).ToList();
        using var set = AdapterSet.Attach(model, new AdapterConfig { Method = AdapterMethod.Lors, Rank = 4, Alpha = 8 });
        Perturb(set);
        var adapted = Logits(model);
        var report = set.MergeIntoBase();
        Assert.True(report.SparsityPreserved);
        Assert.Equal(0, report.FilledZeros);
        Assert.Equal(0.5, report.SparsityAfter, 6);
        var after = model.Linears().Select(x => Ops.NonZeroMask(x.linear.Weight.Data).ToByteArray()).ToList();
        for (int i = 0; i < zeros.Count; i++) Assert.Equal(zeros[i], after[i]);
        Assert.True(MaxRel(Logits(model), adapted) < 1e-5, "the merged model must compute what the adapted one did");
    }

    [Fact]
    public void LoraMergeFillsTheZeros()
    {
        using var model = PrunedModel();
        using var set = AdapterSet.Attach(model, new AdapterConfig { Method = AdapterMethod.Lora, Rank = 4, Alpha = 8 });
        Perturb(set);
        var adapted = Logits(model);
        var report = set.MergeIntoBase();
        Assert.False(report.SparsityPreserved);
        Assert.True(report.SparsityAfter < 0.01, $"sparsity after a LoRA merge: {report.SparsityAfter}");
        Assert.True(MaxRel(Logits(model), adapted) < 1e-5);
    }

    [Fact]
    public void SaveAndLoadRoundTrip()
    {
        var dir = Path.Combine(Path.GetTempPath(), "lors-adapter-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using var model = PrunedModel();
            float[] adapted;
            using (var set = AdapterSet.Attach(model, new AdapterConfig { Method = AdapterMethod.Lors, Rank = 4, Alpha = 8, Targets = [Projection.Q, Projection.Down] }))
            {
                Perturb(set);
                adapted = Logits(model);
                set.Save(dir);
            }
            using var loaded = AdapterSet.Load(model, dir);
            Assert.Equal(AdapterMethod.Lors, loaded.Config.Method);
            Assert.Equal([Projection.Q, Projection.Down], loaded.Config.Targets);
            Assert.Equal(adapted, Logits(model));
            File.WriteAllText(Path.Combine(dir, AdapterSet.ConfigFile), "{ \"rank\": -1 }");
            loaded.Detach();
            var e = Assert.Throws<InvalidDataException>(() => AdapterSet.Load(model, dir));
            Assert.Contains("'rank'", e.Message);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void GradientInitGivesZeroAAndTheGoldenGradientsTopRightSingularVectorsOverGamma()
    {
        // The dense model on the golden batch: GradientInit's dL/dW must be the gradient transformers computed
        // (grad.<name> for layers 0 and 5 in the fixture), and B's rows its top-r right singular vectors / gamma.
        using var reference = Lors.Models.Formats.SafetensorsFile.Open(Path.Combine(RepoPaths.Fixtures, "llama_ref_valid_2x128.safetensors"));
        var ids = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(reference.GetBytes(reference.Get("input_ids"))).ToArray();
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        const int rank = 4;
        const double gamma = 2;
        using var set = AdapterSet.Attach(model, new AdapterConfig { Method = AdapterMethod.Lors, Rank = rank, Alpha = 8, Gamma = gamma });
        using var scope = TensorScope.Begin();
        var input = Tensor.FromArray(ids, [2, 128]);
        var report = GradientInit.Run(model, set, [(input, input)]);
        Assert.Equal(42, report.Layers.Count);
        int compared = 0;
        foreach (var a in set.Adapters)
        {
            Assert.All(a.A.Data.ToFloatArray(), v => Assert.Equal(0f, v));
            var e = reference.Entries.FirstOrDefault(x => x.Name == "grad." + a.Name);
            if (e is null) continue; // the fixture holds layers 0 and 5 only
            int m = a.A.Shape[0], n = a.B.Shape[1];
            var g = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(reference.GetBytes(e)).ToArray().Select(v => (double)v).ToArray();
            var (sRef, vRef) = MathNetSvd.Compute(g, m, n);
            var b = a.B.Data.ToDoubleArray().Select(v => v * gamma).ToArray();
            Assert.Equal(sRef[0], report.Layers.Single(l => l.Name == a.Name).TopSigma, sRef[0] * 2e-3);
            for (int i = 0; i < rank; i++)
            {
                double norm = Math.Sqrt(Enumerable.Range(0, n).Sum(c => b[i * n + c] * b[i * n + c]));
                Assert.True(Math.Abs(norm - 1) < 1e-5, $"{a.Name}: row {i} of B * gamma has norm {norm}");
                // A singular vector is defined (up to sign) only when its value is apart from its neighbours'; where
                // two values are within 2% the test checks that the pair spans the same plane instead.
                double gap = Math.Min(i > 0 ? sRef[i - 1] - sRef[i] : double.MaxValue, sRef[i] - sRef[i + 1]) / sRef[i];
                if (gap > 0.02)
                {
                    double cos = MathNetSvd.AbsCos(b, i, vRef, i, n);
                    Assert.True(cos > 0.999, $"{a.Name}: row {i} of B against the golden gradient's v_{i}: |cos| = {cos:F6} (gap {gap:P1})");
                }
                double inSpan = 0; // squared length of row i projected onto span(v_0 .. v_rank) (one extra for a close pair)
                for (int j = 0; j <= rank; j++) inSpan += Math.Pow(MathNetSvd.AbsCos(b, i, vRef, j, n), 2);
                Assert.True(inSpan > 0.999, $"{a.Name}: row {i} of B lies {inSpan:F6} inside the golden top singular subspace");
            }
            compared++;
        }
        Assert.Equal(2 * 7, compared);
    }
}
