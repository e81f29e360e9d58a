// A tensor to be written by SafetensorsWriter: either bytes in memory or a callback that streams them,
// so that large tensors need not be copied into one buffer first.
namespace Lors.Models.Formats;

/// <param name="Data">The raw little-endian bytes; ignored when <see cref="WriteData"/> is set.</param>
public sealed record TensorToWrite(string Name, SafeDType DType, long[] Shape, ReadOnlyMemory<byte> Data)
{
    /// <summary>When set, called once with the output stream; it must write exactly <see cref="ByteLength"/> bytes.</summary>
    public Action<Stream>? WriteData { get; init; }

    /// <summary>Shape product x dtype size: the bytes this tensor occupies in the file.</summary>
    public long ByteLength
    {
        get
        {
            long n = SafeDTypes.Size(DType);
            foreach (long d in Shape) n = checked(n * d);
            return n;
        }
    }

    /// <summary>A tensor whose bytes are produced by <paramref name="writeData"/> at write time.</summary>
    public static TensorToWrite Streamed(string name, SafeDType dtype, long[] shape, Action<Stream> writeData) =>
        new(name, dtype, shape, ReadOnlyMemory<byte>.Empty) { WriteData = writeData ?? throw new ArgumentNullException(nameof(writeData)) };

    /// <summary>A tensor copied from an open safetensors file (same name unless given), streamed without a buffer.</summary>
    public static TensorToWrite FromFile(SafetensorsFile file, SafetensorsEntry entry, string? name = null) =>
        Streamed(name ?? entry.Name, entry.DType, (long[])entry.Shape.Clone(), s => file.CopyTo(entry, s));
}
