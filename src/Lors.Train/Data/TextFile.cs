// Reading a text file that the tools train, evaluate or calibrate on: strict UTF-8 (a Latin-1 or binary file is
// refused with the offset of the first bad byte), no NUL bytes, not blank. Errors name the file and what was found.
using System.Text;

namespace Lors.Train.Data;

public static class TextFile
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The file's text (a leading UTF-8 BOM dropped). <paramref name="what"/> names its role, e.g. "--data".</summary>
    public static string ReadUtf8(string path, string what)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{what}: file '{path}' does not exist", path);
        var bytes = File.ReadAllBytes(path);
        return Decode(bytes, path, what);
    }

    /// <summary>Checks and decodes <paramref name="bytes"/> (the content of <paramref name="path"/>).</summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string path, string what)
    {
        if (bytes.Length == 0) throw new InvalidDataException($"{what}: '{path}' is empty");
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) bytes = bytes[3..];
        int nul = bytes.IndexOf((byte)0);
        if (nul >= 0)
            throw new InvalidDataException($"{what}: '{path}' holds a NUL byte at offset {nul} ({bytes.Count((byte)0)} in all); expected plain UTF-8 text, not a binary file");
        int bad = FirstInvalidUtf8(bytes);
        if (bad >= 0)
            throw new InvalidDataException($"{what}: '{path}' is not valid UTF-8 (byte 0x{bytes[bad]:X2} at offset {bad}); " +
                "convert it to UTF-8 (a Latin-1 or binary file?)");
        string text = Strict.GetString(bytes);
        if (string.IsNullOrWhiteSpace(text)) throw new InvalidDataException($"{what}: '{path}' holds only whitespace ({bytes.Length} bytes)");
        return text;
    }

    /// <summary>Offset of the first byte that does not start or continue a valid UTF-8 sequence, or -1.</summary>
    public static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            var status = System.Text.Rune.DecodeFromUtf8(bytes[i..], out _, out int consumed);
            if (status != System.Buffers.OperationStatus.Done) return i;
            i += consumed;
        }
        return -1;
    }
}
