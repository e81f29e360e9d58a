// Serialises LlamaConfig to config.json text: the modelled fields over a copy of the raw object
// (unknown fields survive), in the RoPE form the source used, keys sorted and indented as HF writes.
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lors.Models.Formats;

internal static class LlamaConfigWriter
{
    public static string ToJson(LlamaConfig c)
    {
        var o = c.Raw?.DeepClone().AsObject() ?? new JsonObject { ["architectures"] = new JsonArray("LlamaForCausalLM") };
        o["vocab_size"] = c.VocabSize;
        o["hidden_size"] = c.HiddenSize;
        o["intermediate_size"] = c.IntermediateSize;
        o["num_hidden_layers"] = c.NumHiddenLayers;
        o["num_attention_heads"] = c.NumAttentionHeads;
        // Defaulted values stay implicit so that a reloaded config equals the saved one (transformers
        // applies the same defaults when the keys are absent).
        if (c.HasExplicitKeyValueHeads) o["num_key_value_heads"] = c.NumKeyValueHeads;
        if (c.HasExplicitHeadDim) o["head_dim"] = c.HeadDim;
        o["rms_norm_eps"] = JsonFields.Number(c.RmsNormEps);
        o["max_position_embeddings"] = c.MaxPositionEmbeddings;
        o["tie_word_embeddings"] = c.TieWordEmbeddings;
        o["bos_token_id"] = c.BosTokenId;
        o["eos_token_id"] = c.EosTokenIds.Length switch
        {
            0 => null,
            1 => JsonValue.Create(c.EosTokenIds[0]),
            _ => new JsonArray(c.EosTokenIds.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
        };
        o["pad_token_id"] = c.PadTokenId;
        o["attention_bias"] = c.AttentionBias;
        o["mlp_bias"] = c.MlpBias;
        o["hidden_act"] = c.HiddenAct;
        o["model_type"] = c.ModelType;

        bool v5 = c.UsesRopeParameters;
        WriteDType(o, c.TorchDType, v5);
        if (v5) WriteRopeParameters(o, c);
        else WriteRopeScaling(o, c);

        return Sorted(o)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static void WriteDType(JsonObject o, string? dtype, bool v5)
    {
        bool hasOld = o.ContainsKey("torch_dtype"), hasNew = o.ContainsKey("dtype");
        if (!hasOld && !hasNew)
        {
            if (dtype is not null) o[v5 ? "dtype" : "torch_dtype"] = dtype;
            return;
        }
        if (hasOld) o["torch_dtype"] = dtype;
        if (hasNew) o["dtype"] = dtype;
    }

    private static void WriteRopeParameters(JsonObject o, LlamaConfig c)
    {
        var p = new JsonObject { ["rope_theta"] = JsonFields.Number(c.RopeTheta) };
        AddScaling(p, c.RopeScaling);
        o["rope_parameters"] = p;
        // Top-level copies would contradict rope_parameters after an edit; 5.x reads only the latter.
        o.Remove("rope_theta");
        o.Remove("rope_scaling");
    }

    private static void WriteRopeScaling(JsonObject o, LlamaConfig c)
    {
        o["rope_theta"] = JsonFields.Number(c.RopeTheta);
        if (c.RopeScaling is null or { Type: "default" })
        {
            o["rope_scaling"] = null;
            return;
        }
        // Older 4.x releases read "type"; keep it when the source had it, beside the newer "rope_type".
        bool hadType = o["rope_scaling"] is JsonObject old && old.ContainsKey("type");
        var s = new JsonObject();
        AddScaling(s, c.RopeScaling);
        if (hadType) s["type"] = c.RopeScaling.Type;
        o["rope_scaling"] = s;
    }

    private static void AddScaling(JsonObject p, RopeScaling? s)
    {
        p["rope_type"] = s?.Type ?? "default";
        if (s is null or { Type: "default" }) return;
        p["factor"] = JsonFields.Number(s.Factor);
        if (s.Type != "llama3") return;
        p["low_freq_factor"] = JsonFields.Number(s.LowFreqFactor!.Value);
        p["high_freq_factor"] = JsonFields.Number(s.HighFreqFactor!.Value);
        p["original_max_position_embeddings"] = s.OriginalMaxPositionEmbeddings!.Value;
    }

    /// <summary>A deep copy with object keys in ordinal order (transformers writes sort_keys=True).</summary>
    private static JsonNode? Sorted(JsonNode? n) => n switch
    {
        JsonObject obj => new JsonObject(obj.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => KeyValuePair.Create(kv.Key, Sorted(kv.Value)))),
        JsonArray arr => new JsonArray(arr.Select(Sorted).ToArray()),
        null => null,
        _ => n.DeepClone(),
    };
}
