// Finds the first NaN or +-Inf in raw little-endian float bytes (F64, F32, F16, BF16) straight from a file
// mapping: an element is not finite exactly when all its exponent bits are set, so one masked compare per lane.
using System.Numerics;
using System.Runtime.InteropServices;
using Lors.Tensors;

namespace Lors.Models.Formats;

public static class FiniteScan
{
    /// <summary>Index of the first element that is NaN or +-Inf, or -1. Integer dtypes are always finite.</summary>
    public static long FirstNonFinite(ReadOnlySpan<byte> bytes, SafeDType dtype) => dtype switch
    {
        SafeDType.F64 => First(MemoryMarshal.Cast<byte, ulong>(bytes), 0x7FF0_0000_0000_0000UL),
        SafeDType.F32 => First(MemoryMarshal.Cast<byte, uint>(bytes), 0x7F80_0000U),
        SafeDType.F16 => First(MemoryMarshal.Cast<byte, ushort>(bytes), (ushort)0x7C00),
        SafeDType.BF16 => First(MemoryMarshal.Cast<byte, ushort>(bytes), (ushort)0x7F80),
        _ => -1,
    };

    /// <summary>The element at index as a double, for messages.</summary>
    public static double ValueAt(ReadOnlySpan<byte> bytes, SafeDType dtype, long index) => dtype switch
    {
        SafeDType.F64 => MemoryMarshal.Cast<byte, double>(bytes)[(int)index],
        SafeDType.F32 => MemoryMarshal.Cast<byte, float>(bytes)[(int)index],
        SafeDType.F16 => (double)MemoryMarshal.Cast<byte, Half>(bytes)[(int)index],
        SafeDType.BF16 => BitConverter.Int32BitsToSingle(MemoryMarshal.Cast<byte, ushort>(bytes)[(int)index] << 16),
        _ => double.NaN,
    };

    /// <summary>"element [i, j] is NaN" for a row-major shape, for messages.</summary>
    public static string Describe(long index, IReadOnlyList<long> shape, double value)
    {
        var idx = new long[shape.Count];
        long rest = index;
        for (int d = shape.Count - 1; d >= 0; d--)
        {
            long n = Math.Max(shape[d], 1);
            idx[d] = rest % n;
            rest /= n;
        }
        string v = double.IsNaN(value) ? "NaN" : double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : value.ToString("G6");
        return $"element [{string.Join(", ", idx)}] is {v}";
    }

    /// <summary>Throws a SafetensorsFormatException naming file and tensor when the entry holds a NaN or an Inf.</summary>
    public static void Check(SafetensorsFile file, SafetensorsEntry entry)
    {
        long bad = FirstNonFinite(file.GetBytes(entry), entry.DType);
        if (bad >= 0) throw NotFinite(file, entry, bad);
    }

    internal static SafetensorsFormatException NotFinite(SafetensorsFile file, SafetensorsEntry entry, long index) =>
        new(file.FilePath, entry.Name, Describe(index, entry.Shape, ValueAt(file.GetBytes(entry), entry.DType, index)) + " (weights must be finite)");

    /// <summary>Checks a loaded tensor on its own device (a reduction; on CUDA only a scalar comes back). On a
    /// failure the exact element is located on the host copy of the file bytes for the message.</summary>
    public static void CheckOnDevice(Tensor loaded, SafetensorsFile file, SafetensorsEntry entry)
    {
        if (Ops.AllFinite(loaded)) return;
        long bad = FirstNonFinite(file.GetBytes(entry), entry.DType);
        throw bad >= 0 ? NotFinite(file, entry, bad)
            : new SafetensorsFormatException(file.FilePath, entry.Name, "holds a value that is not finite after conversion (weights must be finite)");
    }

    private static long First<T>(ReadOnlySpan<T> bits, T mask) where T : unmanaged, IBinaryInteger<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && bits.Length >= Vector<T>.Count)
        {
            var m = new Vector<T>(mask);
            var lanes = MemoryMarshal.Cast<T, Vector<T>>(bits);
            for (int v = 0; v < lanes.Length; v++)
            {
                if (Vector.EqualsAny(lanes[v] & m, m)) break;
                i += Vector<T>.Count;
            }
        }
        for (; i < bits.Length; i++)
            if ((bits[i] & mask) == mask) return i;
        return -1;
    }
}
