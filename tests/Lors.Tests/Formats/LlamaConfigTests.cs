// config.json parsing in the transformers 4.x and 5.x forms, validation errors, and Save round trips.
using System.Text.Json.Nodes;
using Lors.Models.Formats;

namespace Lors.Tests.Formats;

public class LlamaConfigTests
{
    // A transformers 4.x config (Llama-2 style keys) with linear RoPE scaling and an eos list.
    private const string V4Linear = """
    {
      "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
      "vocab_size": 32000, "hidden_size": 512, "intermediate_size": 1376, "num_hidden_layers": 4,
      "num_attention_heads": 8, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
      "max_position_embeddings": 4096, "rope_theta": 500000.0, "torch_dtype": "float16",
      "rope_scaling": {"type": "linear", "factor": 2.0}, "bos_token_id": 1, "eos_token_id": [2, 7],
      "pad_token_id": null, "tie_word_embeddings": true, "custom_field": {"keep": [1, 2]}
    }
    """;

    // Llama-3.1-8B's RoPE settings in the 4.x form.
    internal const string V4Llama3 = """
    {
      "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
      "num_attention_heads": 32, "num_key_value_heads": 8, "max_position_embeddings": 131072,
      "rope_theta": 500000.0, "torch_dtype": "bfloat16", "eos_token_id": [128001, 128008, 128009],
      "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 8192, "rope_type": "llama3"}
    }
    """;

    [Fact]
    public void TinyModelConfig5x()
    {
        var c = LlamaConfig.Load(FmtPaths.TinyModel);
        Assert.Equal((4096, 256, 688, 6, 8, 4, 32), (c.VocabSize, c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers,
            c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim));
        Assert.Equal(1e-5, c.RmsNormEps);
        Assert.Equal(1024, c.MaxPositionEmbeddings);
        Assert.Equal(10000.0, c.RopeTheta);
        Assert.Null(c.RopeScaling);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal(0, c.BosTokenId);
        Assert.Equal([1], c.EosTokenIds);
        Assert.Equal(2, c.PadTokenId);
        Assert.Equal("bfloat16", c.TorchDType);
        Assert.False(c.AttentionBias || c.MlpBias);
        Assert.Equal(("silu", "llama"), (c.HiddenAct, c.ModelType));
        Assert.True(c.UsesRopeParameters);
        Assert.Equal(0.02, c.Raw!["initializer_range"]!.GetValue<double>());
    }

    [Fact]
    public void Transformers4xWithLinearScaling()
    {
        var c = LlamaConfig.Parse(V4Linear, "v4.json");
        Assert.Equal(500000.0, c.RopeTheta);
        Assert.Equal("float16", c.TorchDType);
        Assert.Equal(new RopeScaling { Type = "linear", Factor = 2.0 }, c.RopeScaling);
        Assert.Equal(64, c.HeadDim);
        Assert.Equal([2, 7], c.EosTokenIds);
        Assert.Null(c.PadTokenId);
        Assert.True(c.TieWordEmbeddings);
        Assert.False(c.UsesRopeParameters);
    }

    [Fact]
    public void Llama3ScalingIn4xAnd5xForms()
    {
        var c4 = LlamaConfig.Parse(V4Llama3, "v4.json");
        var expected = new RopeScaling { Type = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192 };
        Assert.Equal(expected, c4.RopeScaling);
        Assert.Equal(128, c4.HeadDim);
        Assert.Equal(1e-6, c4.RmsNormEps);   // transformers' default when absent

        var o = JsonNode.Parse(V4Llama3)!.AsObject();
        o.Remove("rope_scaling");
        o.Remove("rope_theta");
        o["rope_parameters"] = JsonNode.Parse("""{"rope_type":"llama3","rope_theta":500000.0,"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}""");
        var c5 = LlamaConfig.Parse(o.ToJsonString(), "v5.json");
        Assert.Equal(expected, c5.RopeScaling);
        Assert.Equal(500000.0, c5.RopeTheta);
    }

    private static ConfigFormatException Fails(string json, string? field, params string[] fragments)
    {
        var ex = Assert.Throws<ConfigFormatException>(() => LlamaConfig.Parse(json, "cfg/config.json"));
        Assert.Equal("cfg/config.json", ex.FilePath);
        Assert.Contains("cfg/config.json", ex.Message);
        Assert.Equal(field, ex.Field);
        if (field is not null) Assert.Contains($"'{field}'", ex.Message);
        foreach (var f in fragments) Assert.Contains(f, ex.Message);
        return ex;
    }

    private static string Edit(string json, Action<JsonObject> edit)
    {
        var o = JsonNode.Parse(json)!.AsObject();
        edit(o);
        return o.ToJsonString();
    }

    [Fact]
    public void InvalidJson()
    {
        Fails("{ \"vocab_size\": 12, ", null, "not valid JSON");
        Fails("[1]", null, "object");
        Fails("""{"vocab_size": 1, "vocab_size": 2}""", null);
    }

    [Theory]
    [InlineData("vocab_size")]
    [InlineData("hidden_size")]
    [InlineData("intermediate_size")]
    [InlineData("num_hidden_layers")]
    [InlineData("num_attention_heads")]
    public void MissingRequiredField(string field) => Fails(Edit(V4Linear, o => o.Remove(field)), field, "missing");

    [Theory]
    [InlineData("hidden_size", "\"512\"", "integer")]
    [InlineData("hidden_size", "512.5", "integer")]
    [InlineData("rms_norm_eps", "\"1e-6\"", "number")]
    [InlineData("tie_word_embeddings", "1", "true or false")]
    [InlineData("eos_token_id", "\"2\"", "integer")]
    [InlineData("torch_dtype", "16", "string")]
    [InlineData("rope_scaling", "\"linear\"", "object")]
    public void WrongTypes(string field, string value, string expected) =>
        Fails(Edit(V4Linear, o => o[field] = JsonNode.Parse(value)), field, expected);

    [Fact]
    public void NestedWrongTypeNamesTheNestedField() =>
        Fails(Edit(V4Linear, o => o["rope_scaling"] = JsonNode.Parse("""{"type":"linear","factor":"2"}""")), "rope_scaling.factor", "number");

    [Theory]
    [InlineData("vocab_size", 0)]
    [InlineData("hidden_size", -4)]
    [InlineData("num_hidden_layers", 0)]
    [InlineData("num_key_value_heads", 0)]
    public void NonPositiveSizes(string field, int value) =>
        Fails(Edit(V4Linear, o => o[field] = value), field, "positive");

    [Fact]
    public void HeadDivisibility()
    {
        Fails(Edit(V4Linear, o => o["num_attention_heads"] = 7), "num_attention_heads", "not divisible");
        Fails(Edit(V4Linear, o => o["num_key_value_heads"] = 3), "num_key_value_heads", "not divisible");
        // An explicit head_dim frees hidden_size from being heads x head_dim, as in transformers.
        var c = LlamaConfig.Parse(Edit(V4Linear, o => { o["num_attention_heads"] = 6; o["num_key_value_heads"] = 2; o["head_dim"] = 64; }), "x");
        Assert.Equal(64, c.HeadDim);
        Fails(Edit(V4Linear, o => o["head_dim"] = 63), "head_dim", "even");
    }

    [Fact]
    public void UnsupportedActivationAndRopeType()
    {
        Fails(Edit(V4Linear, o => o["hidden_act"] = "gelu"), "hidden_act", "gelu", "silu");
        Fails(Edit(V4Linear, o => o["rope_scaling"] = JsonNode.Parse("""{"rope_type":"yarn","factor":4.0}""")), "rope_scaling.rope_type", "yarn");
        var fx = File.ReadAllText(Path.Combine(FmtPaths.TinyModel, "config.json"));
        Fails(Edit(fx, o => o["rope_parameters"]!["rope_type"] = "dynamic"), "rope_parameters.rope_type", "dynamic");
        Fails(Edit(V4Llama3, o => o["rope_scaling"]!.AsObject().Remove("low_freq_factor")), "rope_scaling.low_freq_factor", "required");
        Fails(Edit(V4Llama3, o => o["rope_scaling"]!["high_freq_factor"] = 0.5), "rope_scaling.high_freq_factor");
    }

    private static void AssertSameModel(LlamaConfig a, LlamaConfig b)
    {
        Assert.Equal(a with { Raw = null, EosTokenIds = [] }, b with { Raw = null, EosTokenIds = [] });
        Assert.Equal(a.EosTokenIds, b.EosTokenIds);
    }

    [Fact]
    public void SaveRoundTripsAndKeepsUnknownFields()
    {
        using var tmp = new TempDir();
        var fixture = LlamaConfig.Load(FmtPaths.TinyModel);
        string p5 = tmp.File("config.json");
        fixture.Save(p5);
        var back = LlamaConfig.Load(tmp.Path);
        AssertSameModel(fixture, back);
        Assert.True(back.UsesRopeParameters);
        Assert.Equal("5.17.0", back.Raw!["transformers_version"]!.GetValue<string>());
        Assert.Contains("\"rope_theta\": 10000.0", File.ReadAllText(p5));

        var edited = fixture with { RopeTheta = 20000, RopeScaling = new RopeScaling { Type = "linear", Factor = 4 }, EosTokenIds = [1, 3] };
        edited.Save(p5);
        AssertSameModel(edited, LlamaConfig.Load(p5));

        var v4 = LlamaConfig.Parse(V4Linear, "v4.json");
        string p4 = tmp.File("v4.json");
        v4.Save(p4);
        var back4 = LlamaConfig.Load(p4);
        AssertSameModel(v4, back4);
        Assert.False(back4.UsesRopeParameters);
        Assert.Equal("float16", back4.Raw!["torch_dtype"]!.GetValue<string>());
        Assert.Equal("linear", back4.Raw!["rope_scaling"]!["type"]!.GetValue<string>());
        Assert.Equal(2, back4.Raw!["custom_field"]!["keep"]![1]!.GetValue<int>());
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.tmp"));
    }

    [Fact]
    public void ConfigBuiltInCodeSavesAndLoads()
    {
        using var tmp = new TempDir();
        var c = new LlamaConfig { VocabSize = 100, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4 };
        Assert.Equal((4, 16), (c.NumKeyValueHeads, c.HeadDim));
        c.Save(tmp.File("config.json"));
        AssertSameModel(c, LlamaConfig.Load(tmp.Path));
        var bad = c with { NumKeyValueHeads = 3 };
        Assert.Throws<ConfigFormatException>(() => bad.Save(tmp.File("bad.json")));
        Assert.False(File.Exists(tmp.File("bad.json")));
    }
}
