// Moving data between .NET arrays and tensors. Reads convert from any dtype; writes take the array's own type.
using System.Runtime.InteropServices;

namespace Lors.Tensors;

public sealed partial class Tensor
{
    public static Tensor FromArray(float[] data, int[] shape, Device? device = null, DType dtype = DType.F32)
        => FromSpan<float>(data, shape, DType.F32, device, dtype);

    public static Tensor FromArray(double[] data, int[] shape, Device? device = null, DType dtype = DType.F64)
        => FromSpan<double>(data, shape, DType.F64, device, dtype);

    public static Tensor FromArray(int[] data, int[] shape, Device? device = null)
        => FromSpan<int>(data, shape, DType.I32, device, DType.I32);

    public static Tensor FromArray(byte[] data, int[] shape, Device? device = null)
        => FromSpan<byte>(data, shape, DType.U8, device, DType.U8);

    /// <summary>A tensor whose bytes are given in <paramref name="sourceType"/>'s layout (e.g. raw bf16 from a file).</summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> bytes, int[] shape, DType sourceType, Device? device = null)
    {
        CheckShape(shape, "FromBytes");
        long need = NumelOf(shape) * sourceType.Size();
        if (bytes.Length != need)
            throw new ArgumentException($"FromBytes: {bytes.Length} bytes given, shape {ShapeString(shape)} x {sourceType.Name()} needs {need}");
        var t = Empty(shape, sourceType, device);
        t.Backend.CopyFromHost(bytes, t.Storage, 0);
        return t;
    }

    public static Tensor Scalar(float value, Device? device = null) => FromArray([value], [], device);

    private static Tensor FromSpan<T>(ReadOnlySpan<T> data, int[] shape, DType sourceType, Device? device, DType dtype) where T : unmanaged
    {
        CheckShape(shape, "FromArray");
        if (data.Length != NumelOf(shape))
            throw new ArgumentException($"FromArray: {data.Length} values given for shape {ShapeString(shape)} ({NumelOf(shape)} elements)");
        var src = FromBytes(MemoryMarshal.AsBytes(data), shape, sourceType, device);
        if (dtype == sourceType) return src;
        using (src) return src.To(dtype);
    }

    /// <summary>The elements in row-major order as floats (any float or integer dtype).</summary>
    public float[] ToFloatArray() => ReadAs<float>(DType.F32);
    public double[] ToDoubleArray() => ReadAs<double>(DType.F64);
    public int[] ToIntArray() => ReadAs<int>(DType.I32);
    public byte[] ToByteArray() => ReadAs<byte>(DType.U8);

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"Item: tensor {ShapeString(Shape)} has {Numel} elements, not 1");
        return ToFloatArray()[0];
    }

    private T[] ReadAs<T>(DType as_) where T : unmanaged
    {
        var result = new T[Numel];
        if (result.Length == 0) return result;
        if (DType == as_ && IsContiguous)
        {
            Backend.CopyToHost(Storage, Offset * DType.Size(), MemoryMarshal.AsBytes(result.AsSpan()));
            return result;
        }
        using var converted = Empty(Shape, as_, Device);
        Backend.Copy(this, converted);
        converted.Backend.CopyToHost(converted.Storage, 0, MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
    }
}
