// Which weights a pruned matrix [out, in] may keep: an unstructured ratio of zeros, or N:M along the input
// dimension (at most N nonzeros in every group of M consecutive input columns of a row).
using System.Globalization;

namespace Lors.Train.Pruning;

public abstract record SparsityPattern
{
    private SparsityPattern() { }

    /// <summary>The fraction of weights set to zero (N:M: 1 - N/M).</summary>
    public abstract double Ratio { get; }

    /// <summary>At least floor(ratio * count) zeros in each matrix (how they spread over rows depends on the method).</summary>
    public sealed record Unstructured : SparsityPattern
    {
        public Unstructured(double ratio)
        {
            if (!(ratio > 0 && ratio < 1))
                throw new ArgumentOutOfRangeException(nameof(ratio), ratio, $"sparsity must lie in (0, 1), got {ratio.ToString(CultureInfo.InvariantCulture)}");
            Value = ratio;
        }
        public double Value { get; }
        public override double Ratio => Value;
        public override string ToString() => $"{(Value * 100).ToString("0.##", CultureInfo.InvariantCulture)}%";
    }

    /// <summary>Keep N of every M consecutive input columns (e.g. 2:4).</summary>
    public sealed record NM : SparsityPattern
    {
        public NM(int n, int m)
        {
            if (m < 2) throw new ArgumentOutOfRangeException(nameof(m), m, $"N:M needs M >= 2, got {n}:{m}");
            if (n < 1 || n >= m) throw new ArgumentOutOfRangeException(nameof(n), n, $"N:M needs 1 <= N < M (a sparsity in (0, 1)), got {n}:{m}");
            N = n;
            M = m;
        }
        public int N { get; }
        public int M { get; }
        public override double Ratio => 1 - (double)N / M;
        public override string ToString() => $"{N}:{M}";
    }

    public static SparsityPattern Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim();
        int colon = s.IndexOf(':');
        if (colon >= 0)
        {
            if (int.TryParse(s[..colon], NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)
                && int.TryParse(s[(colon + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out int m))
                return new NM(n, m);
            throw new FormatException($"sparsity pattern '{text}': expected N:M such as 2:4, or a ratio such as 0.5 or 50%");
        }
        bool percent = s.EndsWith('%');
        if (double.TryParse(percent ? s[..^1] : s, NumberStyles.Float, CultureInfo.InvariantCulture, out double r))
            return new Unstructured(percent ? r / 100 : r);
        throw new FormatException($"sparsity pattern '{text}': expected N:M such as 2:4, or a ratio such as 0.5 or 50%");
    }

    /// <summary>Zeros required among <paramref name="count"/> weights at <paramref name="ratio"/> (a tiny slack absorbs 0.3*10 = 2.9999...).</summary>
    public static long ZerosFor(double ratio, long count) => (long)Math.Floor(ratio * count + 1e-9);

    /// <summary>Throws when the pattern cannot apply to a matrix with this many input columns.</summary>
    public void Validate(int inFeatures, string matrixName)
    {
        if (this is NM nm && inFeatures % nm.M != 0)
            throw new ArgumentException($"pattern {nm}: {matrixName} has {inFeatures} input columns, not a multiple of M = {nm.M}", "pattern");
    }
}
