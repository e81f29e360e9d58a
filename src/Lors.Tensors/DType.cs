// Element types a tensor can hold. Low-precision float types are storage formats: kernels compute in fp32.
namespace Lors.Tensors;

public enum DType
{
    F32,
    BF16,
    F16,
    /// <summary>Double precision, CPU only: used by gradient checks.</summary>
    F64,
    I32,
    /// <summary>One byte per element: masks and booleans.</summary>
    U8,
}

public static class DTypes
{
    public static int Size(this DType t) => t switch
    {
        DType.F32 or DType.I32 => 4,
        DType.BF16 or DType.F16 => 2,
        DType.F64 => 8,
        DType.U8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };

    public static bool IsFloat(this DType t) => t is DType.F32 or DType.BF16 or DType.F16 or DType.F64;

    /// <summary>The type kernels compute in for this storage type.</summary>
    public static DType ComputeType(this DType t) => t is DType.BF16 or DType.F16 ? DType.F32 : t;

    public static string Name(this DType t) => t.ToString().ToLowerInvariant();

    public static DType Parse(string s) => s.Trim().ToLowerInvariant() switch
    {
        "f32" or "float32" or "float" => DType.F32,
        "bf16" or "bfloat16" => DType.BF16,
        "f16" or "float16" or "half" => DType.F16,
        "f64" or "float64" or "double" => DType.F64,
        "i32" or "int32" => DType.I32,
        "u8" or "uint8" or "bool" => DType.U8,
        _ => throw new ArgumentException($"unknown dtype '{s}' (expected f32, bf16, f16, f64, i32 or u8)"),
    };
}

/// <summary>Scalar conversions for the 16-bit float formats (round to nearest even, NaN kept quiet).</summary>
public static class Half16
{
    public static float BF16ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    public static ushort FloatToBF16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7FFF_FFFF) > 0x7F80_0000) return (ushort)((u >> 16) | 0x40); // quiet NaN
        u += 0x7FFF + ((u >> 16) & 1);
        return (ushort)(u >> 16);
    }

    public static float F16ToFloat(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);
    public static ushort FloatToF16(float f) => BitConverter.HalfToUInt16Bits((Half)f);

    /// <summary>Rounds through bf16 and back: what storing a value in BF16 does to it.</summary>
    public static float RoundBF16(float f) => BF16ToFloat(FloatToBF16(f));
}
