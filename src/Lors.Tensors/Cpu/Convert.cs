// Element conversions between dtypes for contiguous and strided runs. BF16 <-> F32 is vectorized (bit shifts).
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Lors.Tensors.Cpu;

internal static unsafe class Convert
{
    public static void Run(byte* src, DType st, byte* dst, DType dt, long n)
    {
        if (st == dt) { Buffer.MemoryCopy(src, dst, n * st.Size(), n * st.Size()); return; }
        if (st == DType.BF16 && dt == DType.F32) { BF16ToF32((ushort*)src, (float*)dst, n); return; }
        if (st == DType.F32 && dt == DType.BF16) { F32ToBF16((float*)src, (ushort*)dst, n); return; }
        if (st == DType.F16 && dt == DType.F32) { TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, (int)n), new Span<float>(dst, (int)n)); return; }
        if (st == DType.F32 && dt == DType.F16) { TensorPrimitives.ConvertToHalf(new ReadOnlySpan<float>(src, (int)n), new Span<Half>(dst, (int)n)); return; }
        Strided(src, 1, st, dst, dt, n);
    }

    /// <summary>Generic element-by-element conversion from a strided source into a contiguous destination.</summary>
    public static void Strided(byte* src, long stride, DType st, byte* dst, DType dt, long n)
    {
        int es = st.Size();
        if (st == dt)
        {
            for (long i = 0; i < n; i++) Buffer.MemoryCopy(src + i * stride * es, dst + i * es, es, es);
            return;
        }
        for (long i = 0; i < n; i++) Write(dst, dt, i, Read(src + i * stride * es, st));
    }

    public static double Read(byte* p, DType t) => t switch
    {
        DType.F32 => *(float*)p,
        DType.F64 => *(double*)p,
        DType.BF16 => Half16.BF16ToFloat(*(ushort*)p),
        DType.F16 => Half16.F16ToFloat(*(ushort*)p),
        DType.I32 => *(int*)p,
        DType.U8 => *p,
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    public static void Write(byte* p, DType t, long i, double v)
    {
        switch (t)
        {
            case DType.F32: ((float*)p)[i] = (float)v; break;
            case DType.F64: ((double*)p)[i] = v; break;
            case DType.BF16: ((ushort*)p)[i] = Half16.FloatToBF16((float)v); break;
            case DType.F16: ((ushort*)p)[i] = Half16.FloatToF16((float)v); break;
            case DType.I32: ((int*)p)[i] = (int)v; break;
            case DType.U8: p[i] = (byte)v; break;
        }
    }

    public static void BF16ToF32(ushort* s, float* d, long n)
    {
        long i = 0;
        if (Vector256.IsHardwareAccelerated && CpuFeatures.UseAvx2)
            for (; i + 8 <= n; i += 8)
            {
                var w = Vector256.WidenLower(Vector128.Load(s + i).ToVector256Unsafe()); // 8 x u16 -> 8 x u32
                Vector256.ShiftLeft(w, 16).AsSingle().Store(d + i);
            }
        for (; i < n; i++) d[i] = Half16.BF16ToFloat(s[i]);
    }

    /// <summary>Round to nearest even, NaN kept quiet: the vector paths apply Half16.FloatToBF16's rule lane-wise.</summary>
    public static void F32ToBF16(float* s, ushort* d, long n)
    {
        long i = 0;
        if (Vector512.IsHardwareAccelerated && CpuFeatures.UseAvx512)
            for (; i + 32 <= n; i += 32)
                Vector512.Narrow(RoundBF16(Vector512.Load(s + i).AsUInt32()), RoundBF16(Vector512.Load(s + i + 16).AsUInt32())).Store(d + i);
        else if (Vector256.IsHardwareAccelerated && CpuFeatures.UseAvx2)
            for (; i + 16 <= n; i += 16)
                Vector256.Narrow(RoundBF16(Vector256.Load(s + i).AsUInt32()), RoundBF16(Vector256.Load(s + i + 8).AsUInt32())).Store(d + i);
        for (; i < n; i++) d[i] = Half16.FloatToBF16(s[i]);
    }

    private static Vector512<uint> RoundBF16(Vector512<uint> u)
    {
        var rounded = (u + Vector512.Create(0x7FFFu) + ((u >> 16) & Vector512<uint>.One)) >> 16;
        var nan = Vector512.GreaterThan(u & Vector512.Create(0x7FFF_FFFFu), Vector512.Create(0x7F80_0000u));
        return Vector512.ConditionalSelect(nan, (u >> 16) | Vector512.Create(0x40u), rounded);
    }

    private static Vector256<uint> RoundBF16(Vector256<uint> u)
    {
        var rounded = (u + Vector256.Create(0x7FFFu) + ((u >> 16) & Vector256<uint>.One)) >> 16;
        var nan = Vector256.GreaterThan(u & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        return Vector256.ConditionalSelect(nan, (u >> 16) | Vector256.Create(0x40u), rounded);
    }
}
