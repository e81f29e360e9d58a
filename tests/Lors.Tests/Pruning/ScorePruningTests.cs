// Magnitude and Wanda masks: exact patterns, magnitude keeps the largest, activation norms change Wanda's choice.
using Lors.Train.Pruning;

namespace Lors.Tests.Pruning;

public class ScorePruningTests
{
    internal static float[] RandomMatrix(int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, rows * cols).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    public static TheoryData<string, MagnitudeScope> Patterns => new()
    {
        { "0.5", MagnitudeScope.PerMatrix }, { "0.5", MagnitudeScope.PerRow }, { "0.3", MagnitudeScope.PerRow },
        { "0.7", MagnitudeScope.PerMatrix }, { "2:4", MagnitudeScope.PerMatrix }, { "4:8", MagnitudeScope.PerMatrix },
    };

    [Theory]
    [MemberData(nameof(Patterns))]
    public void MagnitudeAndWandaMasksSatisfyPatternsExactly(string text, MagnitudeScope scope)
    {
        var pattern = SparsityPattern.Parse(text);
        const int rows = 24, cols = 40;
        var norms = Enumerable.Range(0, cols).Select(j => 1.0 + j % 7).ToArray();
        foreach (var method in new[] { "magnitude", "wanda" })
        {
            var w = RandomMatrix(rows, cols, 3);
            if (method == "magnitude") ScorePruning.Magnitude(w, rows, cols, pattern, scope);
            else ScorePruning.Wanda(w, rows, cols, norms, pattern);
            var check = SparsityCheck.CheckMatrix("w", w, rows, cols, pattern);
            Assert.Equal(0, check.Violations);
            // Random weights hold no natural zeros, so the count is exactly the target.
            Assert.Equal(SparsityPattern.ZerosFor(pattern.Ratio, rows * cols), check.Zeros);
            if (pattern is SparsityPattern.NM nm)
                for (int g = 0; g < w.Length; g += nm.M) Assert.Equal(nm.N, w.AsSpan(g, nm.M).ToArray().Count(v => v != 0));
        }
    }

    [Fact]
    public void MagnitudeKeepsTheLargestPerMatrix()
    {
        const int rows = 16, cols = 32;
        var orig = RandomMatrix(rows, cols, 5);
        var w = (float[])orig.Clone();
        ScorePruning.Magnitude(w, rows, cols, new SparsityPattern.Unstructured(0.5), MagnitudeScope.PerMatrix);
        float maxPruned = Enumerable.Range(0, w.Length).Where(i => w[i] == 0).Max(i => MathF.Abs(orig[i]));
        float minKept = Enumerable.Range(0, w.Length).Where(i => w[i] != 0).Min(i => MathF.Abs(orig[i]));
        Assert.True(minKept >= maxPruned, $"kept {minKept} < pruned {maxPruned}");
        Assert.All(Enumerable.Range(0, w.Length).Where(i => w[i] != 0), i => Assert.Equal(orig[i], w[i])); // survivors untouched
    }

    [Fact]
    public void MagnitudeKeepsTheLargestPerRowAndPerGroup()
    {
        const int rows = 8, cols = 16;
        var orig = RandomMatrix(rows, cols, 6);
        var perRow = (float[])orig.Clone();
        ScorePruning.Magnitude(perRow, rows, cols, new SparsityPattern.Unstructured(0.25), MagnitudeScope.PerRow);
        var nm = (float[])orig.Clone();
        ScorePruning.Magnitude(nm, rows, cols, new SparsityPattern.NM(2, 4), MagnitudeScope.PerRow);
        for (int r = 0; r < rows; r++)
        {
            var sorted = orig.AsSpan(r * cols, cols).ToArray().Select(MathF.Abs).OrderBy(v => v).ToArray();
            for (int j = 0; j < cols; j++)
                Assert.Equal(MathF.Abs(orig[r * cols + j]) >= sorted[4], perRow[r * cols + j] != 0);
            for (int g = 0; g < cols; g += 4)
            {
                var grp = orig.AsSpan(r * cols + g, 4).ToArray().Select(MathF.Abs).OrderBy(v => v).ToArray();
                for (int j = 0; j < 4; j++)
                    Assert.Equal(MathF.Abs(orig[r * cols + g + j]) >= grp[2], nm[r * cols + g + j] != 0);
            }
        }
    }

    [Fact]
    public void WandaActivationNormsChangeTheChoice()
    {
        // Row [1, -2, 3, 4] with ||X_j|| = [10, 1, 1, 1]: magnitude drops columns 0 and 1,
        // Wanda scores [10, 2, 3, 4] and drops columns 1 and 2 instead.
        float[] w = [1, -2, 3, 4, 0.5f, 4, -3, 2];
        var norms = new double[] { 100, 1, 1, 1 }; // sums of squares: norms 10, 1, 1, 1
        var mag = (float[])w.Clone();
        ScorePruning.Magnitude(mag, 2, 4, new SparsityPattern.Unstructured(0.5), MagnitudeScope.PerRow);
        Assert.Equal([0, 0, 3, 4], mag[..4]);
        var wanda = (float[])w.Clone();
        ScorePruning.Wanda(wanda, 2, 4, norms, new SparsityPattern.Unstructured(0.5));
        Assert.Equal([1, 0, 0, 4], wanda[..4]);
        // Row 1: scores [5, 4, 3, 2] -> keeps columns 0 and 1 (magnitude would keep 1 and 2).
        Assert.Equal([0.5f, 4, 0, 0], wanda[4..]);
        var wanda24 = (float[])w.Clone();
        ScorePruning.Wanda(wanda24, 2, 4, norms, new SparsityPattern.NM(2, 4));
        Assert.Equal(wanda, wanda24); // one group of 4 per row: the same choice
    }
}
