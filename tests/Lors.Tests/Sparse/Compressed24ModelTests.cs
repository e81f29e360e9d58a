// The compressed 2:4 path on the fixture model (tiny-llama-brown pruned 2:4, CPU): the same logits, loss and adapter
// gradients as the dense path, bit for bit (the merge and the products run the same arithmetic on the same values);
// a merged folder identical byte for byte; a model that is not exactly 2:4 stays dense and says why.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Adapters;
using Lors.Train.Pruning;
using Lors.Train.Sparse;

using Lors.Tests.Adapters;

namespace Lors.Tests.Sparse;

public sealed class Compressed24ModelTests
{
    private static int[] Ids => TinyPruned.Ids;
    private static LlamaModel PrunedModel() => TinyPruned.Model();
    private static float[] Logits(LlamaModel m) => TinyPruned.Logits(m);

    private static AdapterSet Adapted(LlamaModel m, bool exact)
    {
        var set = AdapterSet.Attach(m, new AdapterConfig { Method = AdapterMethod.Lors, Rank = 4, Alpha = 8, Seed = 3, Gradient = exact ? LorsGradient.ExactMasked : LorsGradient.LowRank });
        ulong k = 1;
        foreach (var a in set.Adapters)
        {
            using var r = Ops.RandomNormal(a.A.Shape, k++, 0, 0.05);
            Ops.CopyInto(r, a.A.Data);
        }
        return set;
    }

    /// <summary>Loss and every adapter gradient (A then B per adapter) after one backward.</summary>
    private static (float loss, List<float[]> grads) LossAndGrads(LlamaModel m, AdapterSet set)
    {
        float loss;
        using (var scope = TensorScope.Begin())
        {
            var l = m.Loss(Tensor.FromArray(Ids, [2, Ids.Length / 2]));
            l.Backward();
            loss = l.Data.Item();
        }
        var grads = set.Parameters.Select(p => p.Param.Grad!.ToFloatArray()).ToList();
        foreach (var (_, p) in set.Parameters) p.ZeroGrad();
        return (loss, grads);
    }

    [Fact]
    public void CompressedModelGivesTheDenseLogitsAndHoldsFewerBytes()
    {
        using var model = PrunedModel();
        var dense = Logits(model);
        long denseBytes = model.Linears().Sum(x => x.linear.Weight.Data.ByteCount);
        var r = Compression24.Compress(model);
        Assert.True(r.Applied, r.Describe());
        Assert.Equal(42, r.Compressed);
        Assert.All(model.Linears(), x => Assert.IsType<Compressed24Linear>(x.linear));
        Assert.Equal(denseBytes, r.DenseBytes);
        Assert.Equal(0.5 + 1.0 / 32, (double)r.CompressedBytes / r.DenseBytes, 6); // F32 on the CPU: values half, meta 1/8 byte of 4 per element
        Assert.Equal(dense, Logits(model));
        Assert.Contains("compressed", Assert.Throws<InvalidOperationException>(() => model.Linears().First().linear.Weight).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LossAndAdapterGradientsEqualTheDensePath(bool exactGradient)
    {
        using var denseModel = PrunedModel();
        using var denseSet = Adapted(denseModel, exactGradient);
        var (denseLoss, denseGrads) = LossAndGrads(denseModel, denseSet);

        using var model = PrunedModel();
        Assert.True(Compression24.Compress(model).Applied);
        using var set = Adapted(model, exactGradient);
        Assert.All(set.Adapters, a => Assert.IsType<Compressed24Linear>(a.Base));
        var (loss, grads) = LossAndGrads(model, set);

        Assert.Equal(denseLoss, loss);
        Assert.Equal(denseGrads.Count, grads.Count);
        for (int i = 0; i < grads.Count; i++) Assert.Equal(denseGrads[i], grads[i]);
        Assert.Contains(grads, g => g.Any(v => v != 0));
    }

    [Fact]
    public void MergedFolderIsBitIdenticalToTheDensePath()
    {
        string root = Path.Combine(Path.GetTempPath(), "lors-24-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            string denseDir = Path.Combine(root, "dense"), compDir = Path.Combine(root, "compressed");
            MergeReport denseReport, compReport;
            using (var m = PrunedModel())
            {
                using (var set = Adapted(m, false)) denseReport = set.MergeIntoBase();
                m.SaveFolder(denseDir, RepoPaths.TinyModel);
            }
            using (var m = PrunedModel())
            {
                Assert.True(Compression24.Compress(m).Applied);
                using (var set = Adapted(m, false)) compReport = set.MergeIntoBase();
                Assert.Equal(42, Compression24.Restore(m));
                m.SaveFolder(compDir, RepoPaths.TinyModel);
            }
            Assert.Equal(0, compReport.FilledZeros);
            Assert.Equal(denseReport.SparsityAfter, compReport.SparsityAfter, 12);
            var files = Directory.GetFiles(denseDir).Select(Path.GetFileName).Order().ToList();
            Assert.Equal(files, Directory.GetFiles(compDir).Select(Path.GetFileName).Order().ToList());
            Assert.Contains("model.safetensors", files);
            foreach (var f in files)
                Assert.True(File.ReadAllBytes(Path.Combine(denseDir, f!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(compDir, f!))), $"{f} differs");
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void AModelNotExactly24StaysDenseAndSaysWhich()
    {
        using var model = PrunedModel();
        // Layer 3's up projection gets a third non-zero in group 5 of row 7.
        var up = model.Layers[3][Projection.Up].Weight.Data;
        var v = up.ToFloatArray();
        int cols = up.Shape[1], at = 7 * cols + 20;
        for (int p = 0; p < 4; p++) if (v[at + p] == 0) { v[at + p] = 0.25f; break; }
        using (var t = Tensor.FromArray(v, up.Shape)) Ops.CopyInto(t, up);
        var before = Logits(model);
        var r = Compression24.Compress(model);
        Assert.False(r.Applied);
        Assert.Contains("model.layers.3.mlp.up_proj.weight", r.DenseReason);
        Assert.Contains("row 7, columns 20..23", r.DenseReason);
        Assert.Contains("dense weights", r.Describe());
        Assert.All(model.Linears(), x => Assert.IsType<Linear>(x.linear));
        Assert.Equal(before, Logits(model));
    }
}
