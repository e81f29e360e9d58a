// Reads and validates LlamaConfig from config.json text in either the transformers 4.x or 5.x form.
namespace Lors.Models.Formats;

internal static class LlamaConfigReader
{
    public static LlamaConfig Parse(string json, string source)
    {
        var raw = JsonFields.ParseObject(json, source);
        var f = new JsonFields(raw, source);

        var (theta, scaling) = ReadRope(f);
        var config = new LlamaConfig
        {
            VocabSize = f.RequiredInt("vocab_size"),
            HiddenSize = f.RequiredInt("hidden_size"),
            IntermediateSize = f.RequiredInt("intermediate_size"),
            NumHiddenLayers = f.RequiredInt("num_hidden_layers"),
            NumAttentionHeads = f.RequiredInt("num_attention_heads"),
            RmsNormEps = f.OptionalDouble("rms_norm_eps") ?? 1e-6,
            MaxPositionEmbeddings = f.OptionalInt("max_position_embeddings") ?? 2048,
            RopeTheta = theta,
            RopeScaling = scaling,
            TieWordEmbeddings = f.OptionalBool("tie_word_embeddings") ?? false,
            // An explicit null means "no such token"; absence means transformers' default.
            BosTokenId = f.Has("bos_token_id") ? f.OptionalInt("bos_token_id") : raw.ContainsKey("bos_token_id") ? null : 1,
            EosTokenIds = f.OptionalIntOrList("eos_token_id") ?? (raw.ContainsKey("eos_token_id") ? [] : [2]),
            PadTokenId = f.OptionalInt("pad_token_id"),
            // 5.x writes "dtype"; 4.x writes "torch_dtype". Prefer the newer if both are present.
            TorchDType = f.OptionalString("dtype") ?? f.OptionalString("torch_dtype"),
            AttentionBias = f.OptionalBool("attention_bias") ?? false,
            MlpBias = f.OptionalBool("mlp_bias") ?? false,
            HiddenAct = f.OptionalString("hidden_act") ?? "silu",
            ModelType = f.OptionalString("model_type") ?? "llama",
            Raw = raw,
        };
        if (f.OptionalInt("num_key_value_heads") is int kv) config = config with { NumKeyValueHeads = kv };
        if (f.OptionalInt("head_dim") is int hd) config = config with { HeadDim = hd };
        Validate(config, source);
        return config;
    }

    private static (double Theta, RopeScaling? Scaling) ReadRope(JsonFields f)
    {
        // 5.x: rope_parameters carries theta and scaling together.
        if (f.OptionalObject("rope_parameters") is { } p)
        {
            double theta = p.OptionalDouble("rope_theta") ?? f.OptionalDouble("rope_theta") ?? 10000.0;
            string type = p.OptionalString("rope_type") ?? p.OptionalString("type") ?? "default";
            return (theta, ReadScaling(p, type, p.Has("rope_type") ? "rope_type" : "type"));
        }
        double theta4 = f.OptionalDouble("rope_theta") ?? 10000.0;
        if (f.OptionalObject("rope_scaling") is not { } s) return (theta4, null);
        string typeField = s.Has("rope_type") ? "rope_type" : "type";
        string type4 = s.OptionalString(typeField) ?? throw s.Error("rope_type", "rope_scaling needs 'rope_type' (or 'type')");
        return (theta4, ReadScaling(s, type4, typeField));
    }

    private static RopeScaling? ReadScaling(JsonFields s, string type, string typeField)
    {
        switch (type)
        {
            case "default":
                return null;
            case "linear":
                return new RopeScaling { Type = "linear", Factor = s.OptionalDouble("factor") ?? throw s.Error("factor", "required for linear RoPE scaling") };
            case "llama3":
                return new RopeScaling
                {
                    Type = "llama3",
                    Factor = s.OptionalDouble("factor") ?? throw s.Error("factor", "required for llama3 RoPE scaling"),
                    LowFreqFactor = s.OptionalDouble("low_freq_factor") ?? throw s.Error("low_freq_factor", "required for llama3 RoPE scaling"),
                    HighFreqFactor = s.OptionalDouble("high_freq_factor") ?? throw s.Error("high_freq_factor", "required for llama3 RoPE scaling"),
                    OriginalMaxPositionEmbeddings = s.OptionalInt("original_max_position_embeddings")
                        ?? throw s.Error("original_max_position_embeddings", "required for llama3 RoPE scaling"),
                };
            default:
                throw s.Error(typeField, $"unsupported RoPE type '{type}' (supported: default, linear, llama3)");
        }
    }

    public static void Validate(LlamaConfig c, string source)
    {
        void Positive(int v, string field)
        {
            if (v <= 0) throw new ConfigFormatException(source, field, $"must be positive, is {v}");
        }
        Positive(c.VocabSize, "vocab_size");
        Positive(c.HiddenSize, "hidden_size");
        Positive(c.IntermediateSize, "intermediate_size");
        Positive(c.NumHiddenLayers, "num_hidden_layers");
        Positive(c.NumAttentionHeads, "num_attention_heads");
        Positive(c.NumKeyValueHeads, "num_key_value_heads");
        Positive(c.MaxPositionEmbeddings, "max_position_embeddings");
        if (!c.HasExplicitHeadDim && c.HiddenSize % c.NumAttentionHeads != 0)
            throw new ConfigFormatException(source, "num_attention_heads",
                $"hidden_size {c.HiddenSize} is not divisible by num_attention_heads {c.NumAttentionHeads}");
        Positive(c.HeadDim, "head_dim");
        if (c.HeadDim % 2 != 0)
            throw new ConfigFormatException(source, "head_dim", $"must be even for RoPE, is {c.HeadDim}");
        // Tensor dimensions are ints: a product that does not fit would wrap into a wrong (or negative) shape.
        if ((long)c.NumAttentionHeads * c.HeadDim > int.MaxValue)
            throw new ConfigFormatException(source, c.HasExplicitHeadDim ? "head_dim" : "num_attention_heads",
                $"num_attention_heads {c.NumAttentionHeads} x head_dim {c.HeadDim} does not fit a tensor dimension");
        if (c.NumAttentionHeads % c.NumKeyValueHeads != 0)
            throw new ConfigFormatException(source, "num_key_value_heads",
                $"num_attention_heads {c.NumAttentionHeads} is not divisible by num_key_value_heads {c.NumKeyValueHeads}");
        if (!(c.RmsNormEps > 0) || !double.IsFinite(c.RmsNormEps))
            throw new ConfigFormatException(source, "rms_norm_eps", $"must be a positive number, is {c.RmsNormEps}");
        if (!(c.RopeTheta > 0) || !double.IsFinite(c.RopeTheta))
            throw new ConfigFormatException(source, "rope_theta", $"must be a positive number, is {c.RopeTheta}");
        // transformers maps "swish" to the same SiLU module.
        if (c.HiddenAct is not ("silu" or "swish"))
            throw new ConfigFormatException(source, "hidden_act", $"unsupported activation '{c.HiddenAct}' (only silu)");
        if (c.RopeScaling is { } s) ValidateScaling(s, c, source);
    }

    private static void ValidateScaling(RopeScaling s, LlamaConfig c, string source)
    {
        string at = c.UsesRopeParameters ? "rope_parameters." : "rope_scaling.";
        if (s.Type is not ("default" or "linear" or "llama3"))
            throw new ConfigFormatException(source, at + "rope_type", $"unsupported RoPE type '{s.Type}' (supported: default, linear, llama3)");
        if (s.Type == "default") return;
        if (!(s.Factor > 0) || !double.IsFinite(s.Factor))
            throw new ConfigFormatException(source, at + "factor", $"must be a positive number, is {s.Factor}");
        if (s.Type != "llama3") return;
        if (s.LowFreqFactor is not double low || !(low > 0))
            throw new ConfigFormatException(source, at + "low_freq_factor", $"must be a positive number, is {s.LowFreqFactor}");
        if (s.HighFreqFactor is not double high || !(high > low))
            throw new ConfigFormatException(source, at + "high_freq_factor", $"must be greater than low_freq_factor {low}, is {s.HighFreqFactor}");
        if (s.OriginalMaxPositionEmbeddings is not int orig || orig <= 0)
            throw new ConfigFormatException(source, at + "original_max_position_embeddings", $"must be a positive integer, is {s.OriginalMaxPositionEmbeddings}");
    }
}
