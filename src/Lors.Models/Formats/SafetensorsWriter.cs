// Writes safetensors files (single or sharded with model.safetensors.index.json) in the layout HF writes:
// header padded with spaces to 8 bytes, tensors sorted by name, data_offsets contiguous.
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Lors.Models.Formats;

public static class SafetensorsWriter
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>Writes one file atomically (via "<paramref name="path"/>.tmp" and a rename).</summary>
    public static void Write(string path, IReadOnlyList<TensorToWrite> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var sorted = Validate(path, tensors);
        byte[] header = BuildHeader(sorted, metadata);
        AtomicFile.Write(path, fs =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            fs.Write(len);
            fs.Write(header);
            foreach (var t in sorted) WriteData(fs, t, path);
        });
    }

    /// <summary>Writes <c>model-0000i-of-0000N.safetensors</c> shards of at most <paramref name="maxShardBytes"/>
    /// tensor bytes each (a larger tensor gets a shard of its own) plus the index, or a single
    /// model.safetensors when everything fits in one shard. Stale shards/index of a previous save are removed.</summary>
    public static void WriteSharded(string directory, IReadOnlyList<TensorToWrite> tensors, long maxShardBytes,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        var sorted = Validate(directory, tensors);
        Directory.CreateDirectory(directory);

        // Greedy packing in name order keeps each layer's tensors together, as HF's splitter does.
        var shards = new List<List<TensorToWrite>> { new() };
        long current = 0;
        foreach (var t in sorted)
        {
            long n = t.ByteLength;
            if (shards[^1].Count > 0 && current + n > maxShardBytes)
            {
                shards.Add(new());
                current = 0;
            }
            shards[^1].Add(t);
            current += n;
        }

        var keep = new HashSet<string>(StringComparer.Ordinal);
        if (shards.Count == 1)
        {
            Write(Path.Combine(directory, SingleFileName), sorted, metadata);
            keep.Add(SingleFileName);
        }
        else
        {
            var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < shards.Count; i++)
            {
                string name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                Write(Path.Combine(directory, name), shards[i], metadata);
                keep.Add(name);
                foreach (var t in shards[i]) weightMap[t.Name] = name;
            }
            long total = sorted.Sum(t => t.ByteLength);
            AtomicFile.WriteText(Path.Combine(directory, IndexFileName), BuildIndex(total, weightMap));
            keep.Add(IndexFileName);
        }
        RemoveStale(directory, keep);
    }

    /// <summary>The tensor -> shard file map of a sharded folder's index, or null for a single-file folder.</summary>
    public static IReadOnlyDictionary<string, string>? ReadLayout(string directory)
    {
        string index = Path.Combine(directory, IndexFileName);
        return File.Exists(index) ? HfWeightsReader.ReadWeightMap(index).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal) : null;
    }

    /// <summary>Writes the shards a source folder's index names, each holding the tensors the index assigns to it (a tensor
    /// the map does not name joins the last shard), and an index in the same form. Shards are written one at a time,
    /// each through a temporary file, so with streamed tensors only one tensor's bytes pass through memory at once.</summary>
    public static void WriteLayout(string directory, IReadOnlyList<TensorToWrite> tensors, IReadOnlyDictionary<string, string> shardOf,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(shardOf);
        var sorted = Validate(directory, tensors);
        var shardNames = shardOf.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (shardNames.Count == 0) throw new ArgumentException($"{directory}: the shard layout names no shard", nameof(shardOf));
        Directory.CreateDirectory(directory);
        var groups = shardNames.ToDictionary(n => n, _ => new List<TensorToWrite>(), StringComparer.Ordinal);
        foreach (var t in sorted) groups[shardOf.TryGetValue(t.Name, out var f) ? f : shardNames[^1]].Add(t);
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var keep = new HashSet<string>(StringComparer.Ordinal) { IndexFileName };
        foreach (var name in shardNames)
        {
            Write(Path.Combine(directory, name), groups[name], metadata);
            keep.Add(name);
            foreach (var t in groups[name]) weightMap[t.Name] = name;
        }
        AtomicFile.WriteText(Path.Combine(directory, IndexFileName), BuildIndex(sorted.Sum(t => t.ByteLength), weightMap));
        RemoveStale(directory, keep);
    }

    private static void RemoveStale(string directory, HashSet<string> keep)
    {
        // A leftover index would make readers ignore a fresh model.safetensors, and leftover shards of a
        // previous save with another shard count would confuse anyone listing the folder.
        var candidates = Directory.EnumerateFiles(directory, "model-*-of-*.safetensors")
            .Append(Path.Combine(directory, SingleFileName))
            .Append(Path.Combine(directory, IndexFileName));
        foreach (var f in candidates)
            if (!keep.Contains(Path.GetFileName(f)) && File.Exists(f)) File.Delete(f);
    }

    private static List<TensorToWrite> Validate(string target, IReadOnlyList<TensorToWrite> tensors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            ArgumentNullException.ThrowIfNull(t);
            if (string.IsNullOrEmpty(t.Name) || t.Name == "__metadata__")
                throw new SafetensorsFormatException(target, t.Name, "invalid tensor name");
            if (!names.Add(t.Name))
                throw new SafetensorsFormatException(target, t.Name, "given twice");
            if (t.Shape is null || t.Shape.Any(d => d < 0))
                throw new SafetensorsFormatException(target, t.Name, "shape must be non-null with non-negative dimensions");
            long need = SafetensorsHeader.NeededBytes(t.Shape, t.DType, t.Name, target);
            if (t.WriteData is null && t.Data.Length != need)
                throw new SafetensorsFormatException(target, t.Name,
                    $"{t.Data.Length} data bytes but shape {SafetensorsEntry.FormatShape(t.Shape)} x {SafeDTypes.ToName(t.DType)} needs {need}");
        }
        return tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
    }

    private static byte[] BuildHeader(List<TensorToWrite> sorted, IReadOnlyDictionary<string, string>? metadata)
    {
        var ms = new MemoryStream();
        // Relaxed escaping keeps non-ASCII tensor names readable; the output is valid JSON either way.
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in metadata.OrderBy(k => k.Key, StringComparer.Ordinal)) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in sorted)
            {
                long n = t.ByteLength;
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", SafeDTypes.ToName(t.DType));
                w.WriteStartArray("shape");
                foreach (long d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + n);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += n;
            }
            w.WriteEndObject();
        }
        // Pad with spaces so the data section starts 8-byte aligned (8 + header length).
        int len = (int)ms.Length;
        int padded = (len + 7) & ~7;
        for (int i = len; i < padded; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    private static void WriteData(Stream fs, TensorToWrite t, string path)
    {
        long need = t.ByteLength;
        if (t.WriteData is null)
        {
            fs.Write(t.Data.Span);
            return;
        }
        var bounded = new BoundedWriteStream(fs, need, path, t.Name);
        t.WriteData(bounded);
        if (bounded.Written != need)
            throw new SafetensorsFormatException(path, t.Name, $"WriteData wrote {bounded.Written} bytes but shape and dtype need {need}");
    }

    private static string BuildIndex(long totalSize, SortedDictionary<string, string> weightMap)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartObject("metadata");
            w.WriteNumber("total_size", totalSize);
            w.WriteEndObject();
            w.WriteStartObject("weight_map");
            foreach (var kv in weightMap) w.WriteString(kv.Key, kv.Value);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }
}
