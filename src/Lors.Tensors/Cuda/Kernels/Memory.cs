// Copy (strided source, dtype conversion), fill and counter-based random kernels. One thread per output element.
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

internal struct RandomArgs
{
    public ulong Seed;
    public double A, B; // normal: mean, std; uniform: low, high
    public int Normal, DType;
}

internal static class MemoryKernels
{
    /// <summary>dst[i] = convert(src[layout(i)]); raw bit copy when the dtypes match (L.TA == L.TY).</summary>
    public static void Copy(Index1D i, ArrayView<byte> src, ArrayView<byte> dst, Layout l)
    {
        l.Offsets(i, out long a, out _);
        if (l.TA == l.TY) Elem.StBits(dst, l.ES, i, Elem.LdBits(src, l.ES, a));
        else Elem.StAny(dst, l.TY, i, Elem.LdAny(src, l.TA, a));
    }

    public static void Fill(Index1D i, ArrayView<byte> dst, int es, ulong bits) => Elem.StBits(dst, es, i, bits);

    /// <summary>The same SplitMix-style hash as Lors.Tensors.Rng, so a seed gives the same values on both devices.</summary>
    public static ulong Hash(ulong seed, ulong i)
    {
        ulong z = seed * 0x9E3779B97F4A7C15UL + i * 0xD1B54A32D192ED03UL + 0x632BE59BD9B4E019UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public static void Random(Index1D i, ArrayView<byte> dst, RandomArgs r)
    {
        ulong k = (ulong)(long)i.X;
        double v;
        if (r.Normal != 0)
        {
            double u1 = ((Hash(r.Seed, 2 * k) >> 11) + 1) * (1.0 / (9007199254740992.0 + 1.0));
            double u2 = (Hash(r.Seed, 2 * k + 1) >> 11) * (1.0 / 9007199254740992.0);
            v = r.A + r.B * (XMath.Sqrt(-2.0 * XMath.Log(u1)) * XMath.Cos(2.0 * Math.PI * u2));
        }
        else
        {
            double u = (Hash(r.Seed, k) >> 11) * (1.0 / 9007199254740992.0);
            v = r.A + (r.B - r.A) * u;
        }
        Elem.StAny(dst, r.DType, i, v);
    }
}
