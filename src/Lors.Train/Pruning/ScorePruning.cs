// Magnitude and Wanda: score every weight of a row-major [rows, cols] matrix, then zero the lowest scores
// per row (unstructured), per matrix (magnitude's classic threshold) or per group of M input columns (N:M).
namespace Lors.Train.Pruning;

internal static class ScorePruning
{
    /// <summary>Magnitude: score |W_ij|.</summary>
    public static void Magnitude(float[] w, int rows, int cols, SparsityPattern pattern, MagnitudeScope scope)
    {
        var scores = new float[w.Length];
        for (int i = 0; i < w.Length; i++) scores[i] = MathF.Abs(w[i]);
        if (pattern is SparsityPattern.Unstructured u && scope == MagnitudeScope.PerMatrix)
            ZeroLowest(w, scores, 0, w.Length, SparsityPattern.ZerosFor(u.Value, w.Length));
        else ZeroByPattern(w, scores, rows, cols, pattern);
    }

    /// <summary>Wanda: score |W_ij| * ||X_j||_2, compared within each output row (or each N:M group).</summary>
    public static void Wanda(float[] w, int rows, int cols, double[] columnSumSquares, SparsityPattern pattern)
    {
        if (columnSumSquares.Length != cols) throw new ArgumentException($"Wanda: {columnSumSquares.Length} column norms for {cols} columns");
        var norm = new float[cols];
        for (int j = 0; j < cols; j++) norm[j] = (float)Math.Sqrt(columnSumSquares[j]);
        var scores = new float[w.Length];
        Parallel.For(0, rows, r =>
        {
            int o = r * cols;
            for (int j = 0; j < cols; j++) scores[o + j] = MathF.Abs(w[o + j]) * norm[j];
        });
        ZeroByPattern(w, scores, rows, cols, pattern);
    }

    /// <summary>Per-row unstructured or per-group N:M selection. Row r gets ZerosFor(ratio, cols*(r+1)) - ZerosFor(ratio, cols*r)
    /// zeros, so the matrix total is exactly ZerosFor(ratio, rows*cols) even when ratio*cols is not whole.</summary>
    public static void ZeroByPattern(float[] w, float[] scores, int rows, int cols, SparsityPattern pattern)
    {
        switch (pattern)
        {
            case SparsityPattern.Unstructured u:
                Parallel.For(0, rows, r =>
                {
                    long k = SparsityPattern.ZerosFor(u.Value, (long)cols * (r + 1)) - SparsityPattern.ZerosFor(u.Value, (long)cols * r);
                    ZeroLowest(w, scores, r * cols, cols, k);
                });
                break;
            case SparsityPattern.NM nm:
                Parallel.For(0, rows, r =>
                {
                    for (int g = r * cols; g < (r + 1) * cols; g += nm.M) ZeroLowestInGroup(w, scores, g, nm.M, nm.M - nm.N);
                });
                break;
        }
    }

    /// <summary>Zeros the k lowest-scoring weights of w[start .. start+length); ties go to the lower index.</summary>
    public static void ZeroLowest(float[] w, float[] scores, int start, int length, long k)
    {
        if (k <= 0) return;
        if (k >= length) { Array.Clear(w, start, length); return; }
        // The k-th smallest score is the threshold: everything below goes, then ties at the threshold in index order.
        var sorted = scores.AsSpan(start, length).ToArray();
        Array.Sort(sorted);
        float threshold = sorted[k - 1];
        long below = 0;
        for (int i = 0; i < length; i++) if (scores[start + i] < threshold) below++;
        long ties = k - below;
        for (int i = 0; i < length; i++)
        {
            float s = scores[start + i];
            if (s < threshold) w[start + i] = 0;
            else if (s == threshold && ties > 0) { w[start + i] = 0; ties--; }
        }
    }

    /// <summary>Zeros the `prune` lowest of one small group (N:M); ties go to the lower index.</summary>
    public static void ZeroLowestInGroup(float[] w, float[] scores, int start, int m, int prune)
    {
        Span<bool> gone = stackalloc bool[m];
        for (int p = 0; p < prune; p++)
        {
            int best = -1;
            for (int j = 0; j < m; j++)
                if (!gone[j] && (best < 0 || scores[start + j] < scores[start + best])) best = j;
            gone[best] = true;
            w[start + best] = 0;
        }
    }
}
