// SplitMix64: a tiny RNG whose whole state is one ulong, so checkpoints can save it and every .NET version
// gives the same stream (System.Random's seeded algorithm is an implementation detail).
namespace Lors.Train.Data;

public sealed class DeterministicRng(ulong state)
{
    public ulong State { get; set; } = state;

    public ulong NextUInt64()
    {
        ulong z = State += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, n) without modulo bias (rejection on the top range).</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        ulong limit = ulong.MaxValue - ulong.MaxValue % (ulong)n;
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (int)(r % (ulong)n);
    }

    /// <summary>A seed mixed from several values (e.g. run seed and epoch), so streams for different keys are unrelated.</summary>
    public static ulong Mix(ulong a, ulong b) => new DeterministicRng(a ^ (b * 0xD1B54A32D192ED03UL + 0x632BE59BD9B4E019UL)).NextUInt64();

    /// <summary>Fisher-Yates permutation of 0..n-1.</summary>
    public static int[] Permutation(int n, ulong seed)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        var rng = new DeterministicRng(seed);
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }
}
