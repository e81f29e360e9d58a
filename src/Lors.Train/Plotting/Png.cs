// A minimal PNG encoder: 8-bit RGB, one IDAT chunk compressed with zlib (ZLibStream), our own CRC-32.
// Written to "<path>.tmp" then renamed, so a reader never sees half an image.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Lors.Train.Plotting;

public static class Png
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Writes <paramref name="rgb"/> (width*height*3 bytes, rows top to bottom) as a PNG file.</summary>
    public static void WriteRgb(string path, int width, int height, ReadOnlySpan<byte> rgb)
    {
        var bytes = EncodeRgb(width, height, rgb);
        string tmp = path + ".tmp";
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
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
        uint crc = Crc32(typeBytes, 0xFFFFFFFFu);
        crc = Crc32(data, crc) ^ 0xFFFFFFFFu;     // the CRC covers type and data, not the length
        Span<byte> c = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(c, crc);
        s.Write(c);
    }

    /// <summary>Updates a running CRC-32 (reflected polynomial 0xEDB88320); start with 0xFFFFFFFF and xor the result with it.</summary>
    public static uint Crc32(ReadOnlySpan<byte> data, uint crc)
    {
        foreach (byte b in data) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }
}
