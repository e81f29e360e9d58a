// Reads one split of a task's dataset from its folder: parquet files as the Hugging Face hub stores them
// (validation-00000-of-00001.parquet, possibly in sub-folders) or JSON lines (validation.jsonl), in file-name order.
using System.Collections;
using System.Text.Json;
using Parquet.Serialization;

namespace Lors.Models.Evaluation.Tasks;

public static class TaskDataReader
{
    private static readonly string[] Extensions = [".parquet", ".jsonl", ".json"];

    /// <summary>The split's files under folder: names that start with the split and end in .parquet, .jsonl or .json.</summary>
    public static IReadOnlyList<string> FindSplitFiles(string folder, string split) =>
        !Directory.Exists(folder) ? [] :
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f).StartsWith(split, StringComparison.OrdinalIgnoreCase)
                        && Extensions.Contains(Path.GetExtension(f).ToLowerInvariant())
                        && IsSplitName(Path.GetFileNameWithoutExtension(f), split))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();

    // "validation", "validation-00000-of-00001", "validation.0": not "validation_matched" of another split.
    private static bool IsSplitName(string stem, string split) =>
        stem.Length == split.Length || stem[split.Length] is '-' or '.';

    /// <summary>All rows of the split's files, in order.</summary>
    public static List<TaskRow> ReadRows(IEnumerable<string> files)
    {
        var rows = new List<TaskRow>();
        foreach (var f in files)
            rows.AddRange(Path.GetExtension(f).Equals(".parquet", StringComparison.OrdinalIgnoreCase) ? ReadParquet(f) : ReadJsonLines(f));
        return rows;
    }

    public static List<TaskRow> ReadJsonLines(string file)
    {
        var rows = new List<TaskRow>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(file))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new TaskDataException($"{file} line {lineNo}: not valid JSON ({e.Message})"); }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new TaskDataException($"{file} line {lineNo}: expected a JSON object, got {doc.RootElement.ValueKind}");
                rows.Add(new TaskRow(file, $"line {lineNo}", (IReadOnlyDictionary<string, object?>)FromJson(doc.RootElement)!));
            }
        }
        return rows;
    }

    private static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value)) as IReadOnlyDictionary<string, object?>,
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    public static List<TaskRow> ReadParquet(string file)
    {
        IList<Dictionary<string, object>> data;
        try
        {
            using var stream = File.OpenRead(file);
            data = ParquetSerializer.DeserializeUntypedAsync(stream).GetAwaiter().GetResult().Data;
        }
        catch (Exception e) when (e is not TaskDataException)
        {
            throw new TaskDataException($"{file}: not a readable parquet file ({e.Message})");
        }
        var rows = new List<TaskRow>(data.Count);
        for (int i = 0; i < data.Count; i++)
            rows.Add(new TaskRow(file, $"row {i}", (IReadOnlyDictionary<string, object?>)FromParquet(data[i])!));
        return rows;
    }

    // Parquet.Net gives strings as string or ReadOnlyMemory<char>, lists as List<T?>, structs as IDictionary.
    private static object? FromParquet(object? v) => v switch
    {
        null => null,
        string s => s,
        ReadOnlyMemory<char> m => m.ToString(),
        IDictionary<string, object> d => d.ToDictionary(p => p.Key, p => FromParquet(p.Value)) as IReadOnlyDictionary<string, object?>,
        IList l => l.Cast<object?>().Select(FromParquet).ToList(),
        _ => v,
    };
}
