// How the packing code sees an operand: a typed pointer with its leading dimension and transpose flag,
// plus zero-cost element readers (struct generics, so the JIT specialises each packing loop per type).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Lors.Tensors.Cpu;

/// <summary>One GEMM input as stored: element (r, c) of op(X) lives at Ptr[Trans ? c*Ld + r : r*Ld + c].</summary>
internal readonly unsafe struct GemmOperand(void* ptr, GemmElement kind, int ld, bool trans)
{
    public readonly void* Ptr = ptr;
    public readonly GemmElement Kind = kind;
    public readonly int Ld = ld;
    public readonly bool Trans = trans;

    /// <summary>The same operand starting at element (r, c) of op(X).</summary>
    public GemmOperand Offset(long r, long c)
    {
        long idx = Trans ? c * Ld + r : r * Ld + c;
        int size = Kind == GemmElement.BF16 ? 2 : 4;
        return new GemmOperand((byte*)Ptr + idx * size, Kind, Ld, Trans);
    }
}

/// <summary>Reads stored elements as float; implemented by value types so calls inline away.</summary>
internal unsafe interface IGemmElement
{
    static abstract float Load(void* p, nint i);
    /// <summary>Converts <paramref name="n"/> consecutive elements starting at p[i] into dst.</summary>
    static abstract void Copy(void* p, nint i, float* dst, int n);
}

internal unsafe struct F32Element : IGemmElement
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(void* p, nint i) => ((float*)p)[i];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(void* p, nint i, float* dst, int n)
        => Buffer.MemoryCopy((float*)p + i, dst, n * sizeof(float), n * sizeof(float));
}

internal unsafe struct Bf16Element : IGemmElement
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(void* p, nint i) => BitConverter.Int32BitsToSingle(((ushort*)p)[i] << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(void* p, nint i, float* dst, int n)
    {
        ushort* s = (ushort*)p + i;
        int j = 0;
        if (CpuFeatures.UseAvx2)
        {
            // bf16 -> f32 is a zero-extend and a 16-bit shift; 16 at a time.
            for (; j + 16 <= n; j += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(s + j));
                Vector256.ShiftLeft(lo, 16).AsSingle().Store(dst + j);
                Vector256.ShiftLeft(hi, 16).AsSingle().Store(dst + j + 8);
            }
        }
        for (; j < n; j++) dst[j] = BitConverter.Int32BitsToSingle(s[j] << 16);
    }
}
