// Device-side element access shared by every kernel: float tensors travel as byte views plus a dtype code
// (the DType enum's value) and are read into fp32 (fp64 for copies); BF16/F16 conversions are bit-exact RNE.
using ILGPU;

namespace Lors.Tensors.Cuda.Kernels;

internal static class Elem
{
    public const int F32 = (int)DType.F32, BF16 = (int)DType.BF16, F16 = (int)DType.F16, F64 = (int)DType.F64, I32 = (int)DType.I32, U8 = (int)DType.U8;

    /// <summary>Element i of a float tensor (F32, BF16 or F16) as fp32.</summary>
    public static float Ld(ArrayView<byte> v, int dt, long i)
    {
        if (dt == F32) return v.Cast<float>()[i];
        if (dt == BF16) return Bf16ToFloat(v.Cast<ushort>()[i]);
        return F16ToFloat(v.Cast<ushort>()[i]);
    }

    /// <summary>Stores x (rounded to nearest even for the 16-bit formats) as element i.</summary>
    public static void St(ArrayView<byte> v, int dt, long i, float x)
    {
        if (dt == F32) v.Cast<float>()[i] = x;
        else if (dt == BF16) v.Cast<ushort>()[i] = FloatToBf16(x);
        else v.Cast<ushort>()[i] = FloatToF16(x);
    }

    /// <summary>Element i of any dtype as a double (the copy kernel's common type).</summary>
    public static double LdAny(ArrayView<byte> v, int dt, long i)
    {
        if (dt == F64) return v.Cast<double>()[i];
        if (dt == I32) return v.Cast<int>()[i];
        if (dt == U8) return v[i];
        return Ld(v, dt, i);
    }

    public static void StAny(ArrayView<byte> v, int dt, long i, double x)
    {
        if (dt == F64) v.Cast<double>()[i] = x;
        else if (dt == I32) v.Cast<int>()[i] = (int)x;
        else if (dt == U8) v[i] = (byte)(int)x;
        else St(v, dt, i, (float)x);
    }

    /// <summary>Raw bits of element i for an element size of 1, 2, 4 or 8 bytes.</summary>
    public static ulong LdBits(ArrayView<byte> v, int es, long i)
    {
        if (es == 4) return v.Cast<uint>()[i];
        if (es == 2) return v.Cast<ushort>()[i];
        if (es == 8) return v.Cast<ulong>()[i];
        return v[i];
    }

    public static void StBits(ArrayView<byte> v, int es, long i, ulong bits)
    {
        if (es == 4) v.Cast<uint>()[i] = (uint)bits;
        else if (es == 2) v.Cast<ushort>()[i] = (ushort)bits;
        else if (es == 8) v.Cast<ulong>()[i] = bits;
        else v[i] = (byte)bits;
    }

    /// <summary>Non-zero test on raw bits: -0.0 counts as zero for the float types, as on the CPU.</summary>
    public static bool NonZeroBits(ulong bits, int dt)
    {
        if (dt == F32) return (bits & 0x7FFF_FFFFUL) != 0;
        if (dt == BF16 || dt == F16) return (bits & 0x7FFFUL) != 0;
        if (dt == F64) return (bits & 0x7FFF_FFFF_FFFF_FFFFUL) != 0;
        return bits != 0;
    }

    public static float Bf16ToFloat(ushort b) => Interop.IntAsFloat((uint)b << 16);

    public static ushort FloatToBf16(float f)
    {
        uint u = Interop.FloatAsInt(f);
        if ((u & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((u >> 16) | 0x40u);
        u += 0x7FFFu + ((u >> 16) & 1u);
        return (ushort)(u >> 16);
    }

    public static float F16ToFloat(ushort h)
    {
        uint sign = ((uint)h & 0x8000u) << 16;
        uint exp = ((uint)h >> 10) & 0x1Fu;
        uint mant = (uint)h & 0x3FFu;
        if (exp == 0)
        {
            // Zero or subnormal: mant * 2^-24, exact in fp32.
            float m = mant * 5.9604644775390625e-8f;
            return sign != 0 ? -m : m;
        }
        if (exp == 31) return Interop.IntAsFloat(sign | 0x7F80_0000u | (mant << 13));
        return Interop.IntAsFloat(sign | ((exp + 112u) << 23) | (mant << 13));
    }

    public static ushort FloatToF16(float f)
    {
        uint u = Interop.FloatAsInt(f);
        uint sign = (u >> 16) & 0x8000u;
        uint a = u & 0x7FFF_FFFFu;
        if (a > 0x7F80_0000u) return (ushort)(sign | 0x7E00u);
        if (a >= 0x477F_F000u) return (ushort)(sign | 0x7C00u); // rounds to infinity (or is infinity)
        if (a < 0x3880_0000u)
        {
            // Subnormal half: adding 0.5f aligns the mantissa so the fp32 adder rounds to nearest even for us.
            float t = Interop.IntAsFloat(a) + 0.5f;
            return (ushort)(sign | (Interop.FloatAsInt(t) - 0x3F00_0000u));
        }
        uint odd = (a >> 13) & 1u;
        a = a - (112u << 23) + 0xFFFu + odd;
        return (ushort)(sign | (a >> 13));
    }

    /// <summary>NaN-propagating max/min, as TensorPrimitives does on the CPU.</summary>
    public static float Max(float a, float b) => float.IsNaN(a) ? a : float.IsNaN(b) ? b : a > b ? a : b;
    public static float Min(float a, float b) => float.IsNaN(a) ? a : float.IsNaN(b) ? b : a < b ? a : b;
    public static double MaxD(double a, double b) => double.IsNaN(a) ? a : double.IsNaN(b) ? b : a > b ? a : b;
    public static double MinD(double a, double b) => double.IsNaN(a) ? a : double.IsNaN(b) ? b : a < b ? a : b;
}
