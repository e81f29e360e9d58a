// Builds the malformed safetensors inputs: the tiny model's file read into memory and re-serialized, a small
// synthetic file with three tensors, and raw byte surgery (truncation, header length, header JSON edits).
using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Lors.Models.Formats;

namespace Lors.Tests.Hardening;

public static class FormatHardeningModel
{
    private static readonly Lazy<byte[]> TinyBytes = new(() => File.ReadAllBytes(Path.Combine(RepoPaths.TinyModel, "model.safetensors")));

    /// <summary>The tiny model's model.safetensors (shared, do not modify: use Tiny()).</summary>
    public static byte[] Tiny() => (byte[])TinyBytes.Value.Clone();

    /// <summary>Every tensor of a file with its bytes in memory.</summary>
    public static List<TensorToWrite> ReadAll(string path)
    {
        using var f = SafetensorsFile.Open(path);
        return f.Entries.Select(e => new TensorToWrite(e.Name, e.DType, (long[])e.Shape.Clone(), f.GetBytes(e).ToArray())).ToList();
    }

    public static byte[] Serialize(IReadOnlyList<TensorToWrite> tensors)
    {
        string tmp = Path.Combine(Path.GetTempPath(), $"lors-harden-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafetensorsWriter.Write(tmp, tensors);
            return File.ReadAllBytes(tmp);
        }
        finally { File.Delete(tmp); }
    }

    /// <summary>Three small tensors (F32 [2,3], BF16 [4], F16 [3,2]) as HF writes them: header padded to 8 bytes.</summary>
    public static byte[] Synthetic() => Serialize(
    [
        new TensorToWrite("a", SafeDType.F32, [2, 3], Enumerable.Range(0, 24).Select(i => (byte)i).ToArray()),
        new TensorToWrite("b", SafeDType.BF16, [4], Enumerable.Range(0, 8).Select(i => (byte)(i + 1)).ToArray()),
        new TensorToWrite("c", SafeDType.F16, [3, 2], Enumerable.Range(0, 12).Select(i => (byte)(i + 2)).ToArray()),
    ]);

    public static long HeaderLength(byte[] file) => (long)BinaryPrimitives.ReadUInt64LittleEndian(file);

    /// <summary>Byte offsets in the file where a structure begins or ends: the length field, the header's ends,
    /// the data section start, every tensor's begin and end.</summary>
    public static SortedSet<long> Boundaries(byte[] file)
    {
        long h = HeaderLength(file), data = 8 + h;
        var set = new SortedSet<long> { 0, 1, 4, 7, 8, 9, 8 + h / 2, data - 1, data };
        foreach (var (b, e) in Offsets(file).Values) { set.Add(data + b); set.Add(data + b + 1); set.Add(data + e - 1); }
        set.RemoveWhere(x => x < 0 || x >= file.Length);
        return set;
    }

    public static Dictionary<string, (long Begin, long End)> Offsets(byte[] file)
    {
        var header = Header(file);
        return header.Where(kv => kv.Key != "__metadata__")
            .ToDictionary(kv => kv.Key, kv => ((long)kv.Value!["data_offsets"]![0]!, (long)kv.Value!["data_offsets"]![1]!));
    }

    public static JsonObject Header(byte[] file)
    {
        long h = HeaderLength(file);
        return JsonNode.Parse(Encoding.UTF8.GetString(file, 8, (int)h))!.AsObject();
    }

    /// <summary>The file with its header replaced (length field updated, data section unchanged).</summary>
    public static byte[] WithHeader(byte[] file, string headerJson)
    {
        long h = HeaderLength(file);
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        var result = new byte[8 + header.Length + (file.Length - 8 - h)];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)header.Length);
        header.CopyTo(result, 8);
        Array.Copy(file, 8 + h, result, 8 + header.Length, file.Length - 8 - h);
        return result;
    }

    public static byte[] WithHeaderLength(byte[] file, ulong length)
    {
        var copy = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(copy, length);
        return copy;
    }

    /// <summary>The file with one element of a float tensor overwritten by value (in the tensor's dtype).</summary>
    public static byte[] WithElement(byte[] file, string tensor, long index, double value)
    {
        var copy = (byte[])file.Clone();
        var header = Header(file);
        string dtype = (string)header[tensor]!["dtype"]!;
        long begin = 8 + HeaderLength(file) + (long)header[tensor]!["data_offsets"]![0]!;
        var span = copy.AsSpan();
        switch (dtype)
        {
            case "F32": BinaryPrimitives.WriteSingleLittleEndian(span[(int)(begin + 4 * index)..], (float)value); break;
            case "BF16": BinaryPrimitives.WriteUInt16LittleEndian(span[(int)(begin + 2 * index)..], (ushort)(BitConverter.SingleToUInt32Bits((float)value) >> 16)); break;
            case "F16": BinaryPrimitives.WriteHalfLittleEndian(span[(int)(begin + 2 * index)..], (Half)value); break;
            default: throw new ArgumentException(dtype);
        }
        return copy;
    }

    public static long ElementCount(byte[] file, string tensor) =>
        Header(file)[tensor]!["shape"]!.AsArray().Aggregate(1L, (n, d) => n * (long)d!);
}
