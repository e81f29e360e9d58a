// Typed, validated access to the fields of a JSON object for the config readers; a JSON null counts
// as absent, and every type mismatch becomes a ConfigFormatException naming file and field.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lors.Models.Formats;

internal sealed class JsonFields(JsonObject obj, string source, string prefix = "")
{
    public string Source => source;
    public string FieldName(string name) => prefix + name;

    public ConfigFormatException Error(string name, string problem) => new(source, FieldName(name), problem);

    /// <summary>Parses a whole JSON document that must be an object.</summary>
    public static JsonObject ParseObject(string json, string source)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false });
            // JsonObject materialises lazily; touching the count surfaces duplicate keys here, not later.
            if (node is JsonObject o) _ = o.Count;
        }
        catch (JsonException e) { throw new ConfigFormatException(source, null, $"not valid JSON ({e.Message})", e); }
        catch (ArgumentException e) { throw new ConfigFormatException(source, null, $"not valid JSON ({e.Message})", e); }
        return node as JsonObject
            ?? throw new ConfigFormatException(source, null, $"top level must be a JSON object, found {Kind(node)}");
    }

    public static string Kind(JsonNode? n) => n is null ? "null" : n.GetValueKind() switch
    {
        JsonValueKind.String => $"string \"{n.GetValue<string>()}\"",
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => n.ToJsonString(),
        var k => k.ToString().ToLowerInvariant(),
    };

    public bool Has(string name) => obj[name] is not null;

    public JsonNode? Node(string name) => obj.TryGetPropertyValue(name, out var n) ? n : null;

    public int RequiredInt(string name) =>
        OptionalInt(name) ?? throw Error(name, "required field is missing");

    public int? OptionalInt(string name) => Node(name) is { } n ? AsInt(n, name) : null;

    public int AsInt(JsonNode n, string name)
    {
        if (n.GetValueKind() == JsonValueKind.Number && n.AsValue().TryGetValue(out long v) && v is >= int.MinValue and <= int.MaxValue)
            return (int)v;
        throw Error(name, $"expected an integer, found {Kind(n)}");
    }

    public double? OptionalDouble(string name)
    {
        if (Node(name) is not { } n) return null;
        if (n.GetValueKind() == JsonValueKind.Number && n.AsValue().TryGetValue(out double v) && double.IsFinite(v)) return v;
        throw Error(name, $"expected a number, found {Kind(n)}");
    }

    public bool? OptionalBool(string name)
    {
        if (Node(name) is not { } n) return null;
        return n.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(name, $"expected true or false, found {Kind(n)}"),
        };
    }

    public string? OptionalString(string name)
    {
        if (Node(name) is not { } n) return null;
        return n.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : throw Error(name, $"expected a string, found {Kind(n)}");
    }

    /// <summary>An int or a list of ints (as eos_token_id may be); null when absent.</summary>
    public int[]? OptionalIntOrList(string name)
    {
        if (Node(name) is not { } n) return null;
        if (n is JsonArray a)
            return a.Select((x, i) => x is null ? throw Error($"{name}[{i}]", "expected an integer, found null") : AsInt(x, $"{name}[{i}]")).ToArray();
        return [AsInt(n, name)];
    }

    public JsonFields? OptionalObject(string name)
    {
        if (Node(name) is not { } n) return null;
        return n is JsonObject o ? new JsonFields(o, source, FieldName(name) + ".") : throw Error(name, $"expected an object, found {Kind(n)}");
    }

    /// <summary>A JSON number node for a double that Python reads back as a float (10000 -> 10000.0).</summary>
    public static JsonNode Number(double d)
    {
        string s = d.ToString("R", CultureInfo.InvariantCulture);
        if (!s.Contains('.') && !s.Contains('E') && !s.Contains('e')) s += ".0";
        return JsonNode.Parse(s)!;
    }
}
