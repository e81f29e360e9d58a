// Parses and validates the JSON header of a safetensors file against the size of its data section.
// Every defect becomes a SafetensorsFormatException naming the file and, where known, the tensor.
using System.Text;
using System.Text.Json;

namespace Lors.Models.Formats;

internal static class SafetensorsHeader
{
    /// <summary>The reference implementation refuses headers above 100 MB; so do we, so a lying length
    /// cannot make us allocate gigabytes.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static (List<SafetensorsEntry> Entries, Dictionary<string, string> Metadata) Parse(
        ReadOnlySpan<byte> header, long dataLength, string file)
    {
        string text;
        try { text = StrictUtf8.GetString(header); }
        catch (DecoderFallbackException e) { throw new SafetensorsFormatException(file, null, "header is not valid UTF-8", e); }

        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new SafetensorsFormatException(file, null, $"header is not valid JSON ({e.Message})", e); }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafetensorsFormatException(file, null, $"header must be a JSON object, found {doc.RootElement.ValueKind}");

            var entries = new List<SafetensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                // JsonDocument keeps duplicate keys; the file would be ambiguous, so refuse it.
                if (!seen.Add(prop.Name))
                    throw new SafetensorsFormatException(file, prop.Name, "appears twice in the header");
                if (prop.Name == "__metadata__")
                    ReadMetadata(prop.Value, metadata, file);
                else
                    entries.Add(ReadEntry(prop.Name, prop.Value, dataLength, file));
            }
            CheckTiling(entries, dataLength, file);
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string file)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(file, null, $"__metadata__ must be an object of strings, found {value.ValueKind}");
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new SafetensorsFormatException(file, null, $"__metadata__ value for '{p.Name}' must be a string, found {p.Value.ValueKind}");
            metadata[p.Name] = p.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ReadEntry(string name, JsonElement e, long dataLength, string file)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw new SafetensorsFormatException(file, name, $"entry must be an object, found {e.ValueKind}");

        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new SafetensorsFormatException(file, name, "missing or non-string 'dtype'");
        string dtName = dt.GetString()!;
        if (!SafeDTypes.TryParse(dtName, out var dtype))
            throw new SafetensorsFormatException(file, name, $"unsupported dtype '{dtName}' (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");

        long[] shape = ReadLongs(e, "shape", name, file, expectedCount: null);
        long[] offs = ReadLongs(e, "data_offsets", name, file, expectedCount: 2);
        long begin = offs[0], end = offs[1];
        if (begin > end)
            throw new SafetensorsFormatException(file, name, $"data_offsets [{begin}, {end}] has begin > end");
        if (end > dataLength)
            throw new SafetensorsFormatException(file, name, $"data_offsets [{begin}, {end}] lie outside the data section of {dataLength} bytes");

        long need = NeededBytes(shape, dtype, name, file);
        if (need != end - begin)
            throw new SafetensorsFormatException(file, name,
                $"data_offsets [{begin}, {end}] but shape {SafetensorsEntry.FormatShape(shape)} x {dtName} needs {need} bytes");
        return new SafetensorsEntry(name, dtype, shape, begin, end - begin);
    }

    /// <summary>Shape product x dtype size, with overflow reported as a format error rather than wrapping.</summary>
    internal static long NeededBytes(long[] shape, SafeDType dtype, string name, string file)
    {
        try
        {
            long n = SafeDTypes.Size(dtype);
            foreach (long d in shape) n = checked(n * d);
            return n;
        }
        catch (OverflowException)
        {
            throw new SafetensorsFormatException(file, name, $"shape {SafetensorsEntry.FormatShape(shape)} is too large (byte size overflows)");
        }
    }

    private static long[] ReadLongs(JsonElement e, string field, string name, string file, int? expectedCount)
    {
        if (!e.TryGetProperty(field, out var arr) || arr.ValueKind != JsonValueKind.Array)
            throw new SafetensorsFormatException(file, name, $"missing or non-array '{field}'");
        int count = arr.GetArrayLength();
        if (expectedCount is int c && count != c)
            throw new SafetensorsFormatException(file, name, $"'{field}' must have {c} elements, has {count}");
        var result = new long[count];
        int i = 0;
        foreach (var v in arr.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x) || x < 0)
                throw new SafetensorsFormatException(file, name, $"'{field}' must hold non-negative integers, found {v.GetRawText()}");
            result[i++] = x;
        }
        return result;
    }

    /// <summary>The tensors must tile the data section exactly, as the reference implementation demands:
    /// sorted by offset, each begins where the previous ended, the first at 0 and the last at the end of the
    /// file. A header length off by one leaves the JSON parseable but shifts every tensor by a byte; this is
    /// what catches it (as a trailing byte or a missing one).</summary>
    private static void CheckTiling(List<SafetensorsEntry> entries, long dataLength, string file)
    {
        var spans = entries.OrderBy(x => x.ByteOffset).ThenBy(x => x.ByteLength).ToList();
        long expected = 0;
        SafetensorsEntry? prev = null;
        foreach (var cur in spans)
        {
            if (cur.ByteOffset < expected)
                throw new SafetensorsFormatException(file, cur.Name,
                    $"data_offsets [{cur.ByteOffset}, {cur.ByteOffset + cur.ByteLength}] overlap tensor '{prev!.Name}' " +
                    $"[{prev.ByteOffset}, {prev.ByteOffset + prev.ByteLength}]");
            if (cur.ByteOffset > expected)
                throw new SafetensorsFormatException(file, cur.Name,
                    $"data_offsets [{cur.ByteOffset}, {cur.ByteOffset + cur.ByteLength}] leave a gap of {cur.ByteOffset - expected} bytes " +
                    $"after {(prev is null ? "the start of the data section" : $"tensor '{prev.Name}'")} (header length wrong?)");
            expected = cur.ByteOffset + cur.ByteLength;
            prev = cur;
        }
        if (expected != dataLength)
            throw new SafetensorsFormatException(file, null,
                $"the tensors cover {expected} bytes but the data section after the header holds {dataLength} " +
                "(header length or file size wrong: truncated or trailing bytes)");
    }
}
