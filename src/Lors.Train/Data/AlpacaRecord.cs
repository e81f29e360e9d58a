// One instruction-tuning record and the Alpaca prompt template, plus the parser for JSON arrays and JSONL files.
using System.Text.Json;

namespace Lors.Train.Data;

public sealed record AlpacaRecord(string Instruction, string Input, string Output)
{
    private const string HeadWithInput =
        "Below is an instruction that describes a task, paired with an input that provides further context. " +
        "Write a response that appropriately completes the request.\n\n";
    private const string HeadNoInput =
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n";

    /// <summary>The standard Alpaca prompt, ending with "### Response:\n" (the response follows directly).</summary>
    public string Prompt => string.IsNullOrEmpty(Input)
        ? $"{HeadNoInput}### Instruction:\n{Instruction}\n\n### Response:\n"
        : $"{HeadWithInput}### Instruction:\n{Instruction}\n\n### Input:\n{Input}\n\n### Response:\n";

    /// <summary>
    /// Reads a JSON array of objects, or JSONL (one object per non-blank line), chosen by the first non-blank character.
    /// "instruction" and "output" are required strings; "input" is optional (string or null). Errors name file, record/line and field.
    /// </summary>
    public static List<AlpacaRecord> ReadFile(string path)
    {
        var records = Parse(TextFile.ReadUtf8(path, "--data"), path);
        if (records.Count == 0) throw new DatasetFormatException(path, "file", null, "no records");
        return records;
    }

    public static List<AlpacaRecord> Parse(string text, string sourceName)
    {
        var trimmed = text.AsSpan().TrimStart();
        return trimmed.Length > 0 && trimmed[0] == '[' ? ParseArray(text, sourceName) : ParseLines(text, sourceName);
    }

    private static List<AlpacaRecord> ParseArray(string text, string file)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new DatasetFormatException(file, $"line {(e.LineNumber ?? 0) + 1}", null, $"malformed JSON: {e.Message}", e); }
        using (doc)
        {
            var list = new List<AlpacaRecord>();
            int i = 0;
            foreach (var el in doc.RootElement.EnumerateArray())
                list.Add(FromElement(el, file, $"record {++i}"));
            return list;
        }
    }

    private static List<AlpacaRecord> ParseLines(string text, string file)
    {
        var list = new List<AlpacaRecord>();
        int lineNo = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new DatasetFormatException(file, $"line {lineNo}", null, $"malformed JSON: {e.Message}", e); }
            using (doc) list.Add(FromElement(doc.RootElement, file, $"line {lineNo}"));
        }
        return list;
    }

    private static AlpacaRecord FromElement(JsonElement el, string file, string where)
    {
        if (el.ValueKind != JsonValueKind.Object)
            throw new DatasetFormatException(file, where, null, $"expected an object, got {el.ValueKind}");
        return new AlpacaRecord(Field(el, "instruction", true, file, where)!, Field(el, "input", false, file, where) ?? "",
            Field(el, "output", true, file, where)!);
    }

    private static string? Field(JsonElement el, string name, bool required, string file, string where)
    {
        if (!el.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
            return required ? throw new DatasetFormatException(file, where, name, "missing") : null;
        if (v.ValueKind != JsonValueKind.String)
            throw new DatasetFormatException(file, where, name, $"must be a string, got {v.ValueKind}");
        return v.GetString();
    }
}
