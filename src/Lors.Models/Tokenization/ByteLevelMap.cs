// The GPT-2 byte <-> printable-char bijection used by byte-level BPE (bytes become visible chars so merges are text).
namespace Lors.Models.Tokenization;

internal static class ByteLevelMap
{
    /// <summary>Char that represents each byte value.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>Byte value for each mapped char, -1 where the char is not part of the mapping (index = char code).</summary>
    public static readonly short[] CharToByte = BuildCharToByte();

    static char[] BuildByteToChar()
    {
        // Printable Latin-1 bytes keep their own code point; the rest are shifted to 256.. in byte order.
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    static short[] BuildCharToByte()
    {
        var inv = new short[512];
        Array.Fill(inv, (short)-1);
        for (int b = 0; b < 256; b++) inv[ByteToChar[b]] = (short)b;
        return inv;
    }

    /// <summary>Maps UTF-8 bytes of a piece to its byte-level string.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++) dst[i] = ByteToChar[src[i]];
        });
    }

    /// <summary>Appends the bytes a token stands for; a token with any unmapped char contributes its raw UTF-8 (as HF does).</summary>
    public static void AppendTokenBytes(string token, List<byte> output)
    {
        foreach (char c in token)
        {
            if (c >= CharToByte.Length || CharToByte[c] < 0)
            {
                output.AddRange(System.Text.Encoding.UTF8.GetBytes(token));
                return;
            }
        }
        foreach (char c in token) output.Add((byte)CharToByte[c]);
    }
}
