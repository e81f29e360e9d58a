// A minimal PNG encoder: 8-bit RGB, one IDAT chunk compressed with zlib (ZLibStream), chunk CRCs from
// System.IO.Hashing.Crc32. Written through AtomicFile (temporary file, then renamed): a reader never sees half an image.
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;
using Lors.Models.Formats;

namespace Lors.Train.Plotting;

public static class Png
{
    /// <summary>Writes <paramref name="rgb"/> (width*height*3 bytes, rows top to bottom) as a PNG file.</summary>
    public static void WriteRgb(string path, int width, int height, ReadOnlySpan<byte> rgb)
    {
        var bytes = EncodeRgb(width, height, rgb);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        AtomicFile.Write(path, fs => fs.Write(bytes));
    }

    public static byte[] EncodeRgb(int width, int height, ReadOnlySpan<byte> rgb)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (rgb.Length != (long)width * height * 3)
            throw new ArgumentException($"Png: {rgb.Length} bytes given for {width}x{height} RGB ({(long)width * height * 3} needed)");
        var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;   // bit depth
        ihdr[9] = 2;   // colour type: truecolour RGB
        // compression 0 (deflate), filter method 0, no interlace
        WriteChunk(ms, "IHDR", ihdr);

        var z = new MemoryStream();
        using (var zs = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true))
        {
            int stride = width * 3;
            for (int y = 0; y < height; y++)
            {
                zs.WriteByte(0);   // filter type None: plots are mostly flat colour, deflate handles them well
                zs.Write(rgb.Slice(y * stride, stride));
            }
        }
        WriteChunk(ms, "IDAT", z.ToArray());
        WriteChunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        s.Write(typeBytes);
        s.Write(data);
        var crc = new Crc32();     // the CRC covers type and data, not the length
        crc.Append(typeBytes);
        crc.Append(data);
        Span<byte> c = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(c, crc.GetCurrentHashAsUInt32());
        s.Write(c);
    }
}
