// One tensor described by a safetensors header: name, dtype, shape and where its bytes lie.
namespace Lors.Models.Formats;

/// <param name="ByteOffset">Offset of the first byte from the start of the data section (data_offsets[0]).</param>
/// <param name="ByteLength">data_offsets[1] - data_offsets[0]; always ElementCount x dtype size.</param>
public sealed record SafetensorsEntry(string Name, SafeDType DType, long[] Shape, long ByteOffset, long ByteLength)
{
    /// <summary>Product of the shape (1 for a scalar, shape []).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>The shape as "[a,b]" for messages.</summary>
    public string ShapeText => FormatShape(Shape);

    internal static string FormatShape(long[] shape) => "[" + string.Join(",", shape) + "]";
}
