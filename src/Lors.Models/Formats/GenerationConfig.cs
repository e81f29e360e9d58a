// The sampling defaults of a Hugging Face generation_config.json (only the fields LoRS uses).
namespace Lors.Models.Formats;

public sealed record GenerationConfig
{
    public int? BosTokenId { get; init; }
    public int[] EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    // Defaults are transformers' GenerationConfig defaults.
    public bool DoSample { get; init; }
    public double Temperature { get; init; } = 1.0;
    public int TopK { get; init; } = 50;
    public double TopP { get; init; } = 1.0;
    public int? MaxNewTokens { get; init; }

    /// <summary>Loads generation_config.json from a file or a folder; null when the file is absent.</summary>
    public static GenerationConfig? Load(string pathOrDir)
    {
        string path = Directory.Exists(pathOrDir) ? Path.Combine(pathOrDir, "generation_config.json") : pathOrDir;
        return File.Exists(path) ? Parse(File.ReadAllText(path), path) : null;
    }

    public static GenerationConfig Parse(string json, string sourceName)
    {
        var f = new JsonFields(JsonFields.ParseObject(json, sourceName), sourceName);
        var g = new GenerationConfig
        {
            BosTokenId = f.OptionalInt("bos_token_id"),
            EosTokenIds = f.OptionalIntOrList("eos_token_id") ?? [],
            PadTokenId = f.OptionalInt("pad_token_id"),
            DoSample = f.OptionalBool("do_sample") ?? false,
            Temperature = f.OptionalDouble("temperature") ?? 1.0,
            TopK = f.OptionalInt("top_k") ?? 50,
            TopP = f.OptionalDouble("top_p") ?? 1.0,
            MaxNewTokens = f.OptionalInt("max_new_tokens"),
        };
        if (g.Temperature < 0) throw f.Error("temperature", $"must be non-negative, is {g.Temperature}");
        if (g.TopK < 0) throw f.Error("top_k", $"must be non-negative, is {g.TopK}");
        if (!(g.TopP > 0 && g.TopP <= 1)) throw f.Error("top_p", $"must be in (0, 1], is {g.TopP}");
        if (g.MaxNewTokens is < 0) throw f.Error("max_new_tokens", $"must be non-negative, is {g.MaxNewTokens}");
        return g;
    }
}
