// Counter-based random numbers shared by every layer (the CPU and CUDA backends, model init, tests): the value at
// index i depends only on (seed, i), so results do not depend on threading or device.
namespace Lors.Tensors;

/// <summary>Counter-based random numbers: the value at index i depends only on (seed, i), never on threading.</summary>
public static class Rng
{
    public static ulong Hash(ulong seed, ulong i)
    {
        ulong z = seed * 0x9E3779B97F4A7C15UL + i * 0xD1B54A32D192ED03UL + 0x632BE59BD9B4E019UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public static double Uniform(ulong seed, long i) => (Hash(seed, (ulong)i) >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal by Box-Muller over two independent uniforms derived from (seed, i).</summary>
    public static double Normal(ulong seed, long i)
    {
        double u1 = ((Hash(seed, 2 * (ulong)i) >> 11) + 1) * (1.0 / ((1UL << 53) + 1));
        double u2 = (Hash(seed, 2 * (ulong)i + 1) >> 11) * (1.0 / (1UL << 53));
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
