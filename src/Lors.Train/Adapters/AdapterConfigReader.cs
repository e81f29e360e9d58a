// Reads adapter_config.json field by field: enums by name only (a number is refused), every field type- and
// range-checked, unknown fields refused; each error names the file and the field on one line.
using System.Text.Json;
using Lors.Models.Llama;

namespace Lors.Train.Adapters;

internal static class AdapterConfigReader
{
    private static readonly Dictionary<string, AdapterMethod> Methods = new(StringComparer.Ordinal)
    {
        ["lors"] = AdapterMethod.Lors, ["lora"] = AdapterMethod.Lora, ["masked"] = AdapterMethod.Masked, ["masked-checkpoint"] = AdapterMethod.MaskedCheckpoint,
    };
    private static readonly Dictionary<string, LorsGradient> Gradients = new(StringComparer.Ordinal)
    {
        ["low-rank"] = LorsGradient.LowRank, ["exact-masked"] = LorsGradient.ExactMasked,
    };
    private static readonly Dictionary<string, AdapterInit> Inits = new(StringComparer.Ordinal) { ["gradient"] = AdapterInit.Gradient, ["lora"] = AdapterInit.Lora };
    private static readonly Dictionary<string, Projection> Targets = new(StringComparer.Ordinal)
    {
        ["q"] = Projection.Q, ["k"] = Projection.K, ["v"] = Projection.V, ["o"] = Projection.O,
        ["gate"] = Projection.Gate, ["up"] = Projection.Up, ["down"] = Projection.Down,
    };

    /// <summary>Rank and sample counts beyond this are refused before anything is sized by them.</summary>
    public const int MaxRank = 1 << 16;

    public static AdapterConfig Parse(string json, string source)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false }); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not valid JSON ({e.Message.Split('\n')[0].Trim()})", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad(source, null, $"top level must be a JSON object, found {Kind(root)}");
            var c = new AdapterConfig();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
            {
                if (!seen.Add(p.Name)) throw Bad(source, p.Name, "appears twice");
                var v = p.Value;
                c = p.Name switch
                {
                    "method" => c with { Method = Enum(v, Methods, source, p.Name) },
                    "rank" => c with { Rank = Int(v, source, p.Name, 1, MaxRank) },
                    "alpha" => c with { Alpha = Number(v, source, p.Name, positive: true) },
                    "targets" => c with { Targets = ReadTargets(v, source) },
                    "gradient" => c with { Gradient = Enum(v, Gradients, source, p.Name) },
                    "init" => c with { Init = Enum(v, Inits, source, p.Name) },
                    "init_samples" => c with { InitSamples = Int(v, source, p.Name, 1, int.MaxValue) },
                    "gamma" => c with { Gamma = Number(v, source, p.Name, positive: true) },
                    "seed" => c with { Seed = v.ValueKind == JsonValueKind.Number && v.TryGetUInt64(out ulong s) ? s
                        : throw Bad(source, p.Name, $"expected a non-negative integer, found {Kind(v)}") },
                    "base_model" => c with { BaseModel = v.ValueKind switch
                    {
                        JsonValueKind.String => v.GetString(), JsonValueKind.Null => null,
                        _ => throw Bad(source, p.Name, $"expected a string or null, found {Kind(v)}"),
                    } },
                    "format_version" => c with { FormatVersion = Int(v, source, p.Name, 1, int.MaxValue) },
                    _ => throw Bad(source, p.Name, "unknown field (expected method, rank, alpha, targets, gradient, init, init_samples, gamma, seed, base_model, format_version)"),
                };
            }
            if (c.FormatVersion > AdapterConfig.CurrentFormatVersion)
                throw Bad(source, "format_version", $"{c.FormatVersion} is newer than this tool's {AdapterConfig.CurrentFormatVersion}");
            return c;
        }
    }

    private static Projection[] ReadTargets(JsonElement v, string source)
    {
        if (v.ValueKind != JsonValueKind.Array) throw Bad(source, "targets", $"expected a list of projection names (q, k, v, o, gate, up, down), found {Kind(v)}");
        var list = new List<Projection>();
        int i = 0;
        foreach (var x in v.EnumerateArray())
        {
            var p = Enum(x, Targets, source, $"targets[{i++}]");
            if (list.Contains(p)) throw Bad(source, $"targets[{i - 1}]", $"'{x.GetString()}' is listed twice");
            list.Add(p);
        }
        if (list.Count == 0) throw Bad(source, "targets", "at least one projection must be adapted");
        return list.ToArray();
    }

    private static T Enum<T>(JsonElement v, Dictionary<string, T> names, string source, string field) =>
        v.ValueKind == JsonValueKind.String && names.TryGetValue(v.GetString()!, out var x) ? x
        : throw Bad(source, field, $"expected one of {string.Join(", ", names.Keys)} (by name), found {Kind(v)}");

    private static int Int(JsonElement v, string source, string field, int min, int max) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long x) && x >= min && x <= max ? (int)x
        : throw Bad(source, field, $"expected an integer in [{min}, {max}], found {Kind(v)}");

    private static double Number(JsonElement v, string source, string field, bool positive) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double x) && double.IsFinite(x) && (!positive || x > 0) ? x
        : throw Bad(source, field, $"expected a {(positive ? "positive " : "")}finite number, found {Kind(v)}");

    private static bool Bool(JsonElement v, string source, string field) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Bad(source, field, $"expected true or false, found {Kind(v)}"),
    };

    private static string Kind(JsonElement v)
    {
        string raw = v.ValueKind is JsonValueKind.Object or JsonValueKind.Array ? v.ValueKind.ToString().ToLowerInvariant() : v.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "...";
    }

    private static InvalidDataException Bad(string source, string? field, string problem) =>
        new(field is null ? $"{source}: {problem}" : $"{source}: field '{field}': {problem}");
}
