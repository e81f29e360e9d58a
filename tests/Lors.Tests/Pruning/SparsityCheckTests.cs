// The pattern checker finds planted violations; the report counts zeros per layer and detects patterns.
using Lors.Models.Llama;
using Lors.Train.Pruning;

namespace Lors.Tests.Pruning;

public class SparsityCheckTests
{
    [Fact]
    public void FindsAPlantedNMViolation()
    {
        var w = ScorePruningTests.RandomMatrix(6, 16, 1);
        ScorePruning.Magnitude(w, 6, 16, new SparsityPattern.NM(2, 4), MagnitudeScope.PerRow);
        Assert.Equal(0, SparsityCheck.CheckMatrix("w", w, 6, 16, new SparsityPattern.NM(2, 4)).Violations);
        int planted = 3 * 16 + 8 + Enumerable.Range(0, 4).First(j => w[3 * 16 + 8 + j] == 0);
        w[planted] = 0.25f;
        var c = SparsityCheck.CheckMatrix("w", w, 6, 16, new SparsityPattern.NM(2, 4));
        Assert.Equal(1, c.Violations);
        Assert.Contains("row 3, columns 8..11 hold 3 nonzeros", c.FirstViolation);
        Assert.Equal(0, SparsityCheck.CheckMatrix("w", w, 6, 16, new SparsityPattern.NM(3, 4)).Violations);
    }

    [Fact]
    public void FindsMissingUnstructuredZerosAndBadShapes()
    {
        var w = ScorePruningTests.RandomMatrix(4, 10, 2);
        for (int i = 0; i < 19; i++) w[i * 2] = 0;
        var c = SparsityCheck.CheckMatrix("w", w, 4, 10, new SparsityPattern.Unstructured(0.5));
        Assert.Equal(1, c.Violations);
        Assert.Contains("19 zeros", c.FirstViolation);
        Assert.Equal(0, SparsityCheck.CheckMatrix("w", w, 4, 10, new SparsityPattern.Unstructured(0.45)).Violations);
        Assert.True(SparsityCheck.CheckMatrix("w", w, 4, 10, new SparsityPattern.NM(2, 4)).Violations > 0); // 10 % 4 != 0
    }

    [Fact]
    public void ModelCheckAndReportSeeOneBadMatrix()
    {
        using var model = PrunePaths.SmallRandom();
        Pruner.Prune(model, new PruneOptions { Method = PruneMethod.Magnitude, Pattern = new SparsityPattern.NM(2, 4) }, null);
        Assert.True(SparsityCheck.Check(model, new SparsityPattern.NM(2, 4)).Ok);
        var report = SparsityCheck.Report(model);
        Assert.Equal(new SparsityPattern.NM(2, 4), report.Detected);
        Assert.Equal(0.5, report.Sparsity, 12);

        var v = model.Layers[1][Projection.Up].Weight.Data;
        var w = v.ToFloatArray();
        int i = Array.IndexOf(w, 0f);
        w[i] = 1f;
        using (var t = Lors.Tensors.Tensor.FromArray(w, v.Shape)) Lors.Tensors.Ops.CopyInto(t, v);
        var result = SparsityCheck.Check(model, new SparsityPattern.NM(2, 4));
        Assert.False(result.Ok);
        Assert.Equal("model.layers.1.mlp.up_proj.weight", Assert.Single(result.Violating).Name);
        Assert.IsType<SparsityPattern.Unstructured>(SparsityCheck.Report(model).Detected); // 3 + 2 nonzeros break 4:8 too
        Assert.Contains("up", SparsityCheck.Report(model).ToString());
    }
}
