// config.json of the tiny model, every field wrong-typed and out of range: LlamaModel.Load must refuse each with a
// ConfigFormatException naming config.json and the field, fast and without allocating what the config claims.
using System.Text.Json.Nodes;
using Lors.Models.Formats;
using Lors.Models.Llama;

namespace Lors.Tests.Hardening;

[Collection("FormatHardening")]
public sealed class FormatHardeningConfigTests(HardeningScratch scratch) : IClassFixture<HardeningScratch>
{
    private static readonly string[] SizeFields =
        ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim"];

    // Wrong JSON types (a string, a fraction, a boolean, a list, an object) and out-of-range values (zero, negative,
    // beyond int, and huge values that no tensor matches: 10^8 and 2^31-1 layers used to hang and eat 16 GB).
    private static readonly string[] BadSizes = ["\"abc\"", "\"6\"", "1.5", "true", "[]", "{}", "0", "-1", "-2147483648", "2147483648", "100000000", "2147483647"];

    public static TheoryData<string, string> SizeCases()
    {
        var d = new TheoryData<string, string>();
        foreach (var f in SizeFields) foreach (var v in BadSizes) d.Add(f, v);
        return d;
    }

    public static TheoryData<string, string> OtherCases() => new()
    {
        { "max_position_embeddings", "\"abc\"" }, { "max_position_embeddings", "1.5" }, { "max_position_embeddings", "0" },
        { "max_position_embeddings", "-1" }, { "max_position_embeddings", "2147483648" }, { "max_position_embeddings", "[]" },
        { "rms_norm_eps", "\"abc\"" }, { "rms_norm_eps", "0" }, { "rms_norm_eps", "-1e-5" }, { "rms_norm_eps", "true" }, { "rms_norm_eps", "[]" },
        { "tie_word_embeddings", "\"yes\"" }, { "tie_word_embeddings", "1" }, { "tie_word_embeddings", "true" },
        { "attention_bias", "true" }, { "attention_bias", "\"false\"" }, { "attention_bias", "0" },
        { "mlp_bias", "true" }, { "mlp_bias", "\"no\"" },
        { "hidden_act", "\"gelu\"" }, { "hidden_act", "5" }, { "hidden_act", "[]" },
        { "bos_token_id", "\"abc\"" }, { "bos_token_id", "1.5" }, { "bos_token_id", "{}" },
        { "eos_token_id", "\"abc\"" }, { "eos_token_id", "1.5" }, { "eos_token_id", "[1, \"x\"]" }, { "eos_token_id", "[null]" },
        { "pad_token_id", "\"abc\"" }, { "pad_token_id", "2.5" },
        { "dtype", "5" }, { "dtype", "[]" },
        { "rope_parameters", "\"default\"" }, { "rope_parameters", "5" },
        { "rope_parameters.rope_theta", "\"abc\"" }, { "rope_parameters.rope_theta", "-1" }, { "rope_parameters.rope_theta", "0" },
        { "rope_parameters.rope_type", "\"yarn\"" }, { "rope_parameters.rope_type", "5" },
        { "rope_parameters.factor", "-2" },
    };

    [Theory]
    [MemberData(nameof(SizeCases))]
    public void SizeFieldWrongTypeOrOutOfRange(string field, string value) => Refused(field, value);

    [Theory]
    [MemberData(nameof(OtherCases))]
    public void OtherFieldWrongTypeOrOutOfRange(string field, string value) => Refused(field, value);

    private void Refused(string field, string value)
    {
        var config = Hardening.ReadObject(Path.Combine(RepoPaths.TinyModel, "config.json"));
        Set(config, field, value);
        // rope_parameters.factor only counts for a scaled RoPE: make it linear so the factor is read.
        if (field == "rope_parameters.factor") config["rope_parameters"]!["rope_type"] = "linear";
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["config.json"] = Hardening.Json(config) });
        string shown = field.Contains('.') ? field.Split('.')[^1] : field;
        Hardening.Fails<ConfigFormatException>(() => LlamaModel.Load(dir).Dispose(), Path.Combine(dir, "config.json"), shown);
    }

    private static void Set(JsonObject root, string dotted, string json)
    {
        var parts = dotted.Split('.');
        JsonObject target = root;
        foreach (var p in parts[..^1]) target = target[p]!.AsObject();
        target[parts[^1]] = Hardening.Value(json);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("{\"vocab_size\": 4096,}")]
    [InlineData("{\"vocab_size\": 4096, \"vocab_size\": 4096}")]
    public void NotAConfigObject(string text)
    {
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["config.json"] = System.Text.Encoding.UTF8.GetBytes(text) });
        Hardening.Fails<ConfigFormatException>(() => LlamaModel.Load(dir).Dispose(), Path.Combine(dir, "config.json"));
    }

    [Theory]
    [InlineData("vocab_size")]
    [InlineData("hidden_size")]
    [InlineData("num_hidden_layers")]
    public void RequiredFieldMissing(string field)
    {
        var config = Hardening.ReadObject(Path.Combine(RepoPaths.TinyModel, "config.json"));
        config.Remove(field);
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["config.json"] = Hardening.Json(config) });
        Hardening.Fails<ConfigFormatException>(() => LlamaModel.Load(dir).Dispose(), "config.json", field);
    }

    /// <summary>A huge max_position_embeddings is no error (RoPE tables grow lazily), but must not allocate for it.</summary>
    [Theory]
    [InlineData(134217728)]
    [InlineData(2147483647)]
    public void HugeMaxPositionsLoadsWithoutAllocatingForThem(int positions)
    {
        var config = Hardening.ReadObject(Path.Combine(RepoPaths.TinyModel, "config.json"));
        config["max_position_embeddings"] = positions;
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["config.json"] = Hardening.Json(config) });
        var o = Hardening.Run(() =>
        {
            using var model = LlamaModel.Load(dir);
            using var ids = Lors.Tensors.Tensor.FromArray([0, 5, 17], [1, 3]);
            using var _ = Lors.Autograd.GradMode.NoGrad();
            Assert.Equal(3, model.Forward(ids).Shape[1]);
        });
        Assert.Null(o.Error);
    }

    /// <summary>tie_word_embeddings true with an lm_head identical to the embedding is a legitimate (tied) save.</summary>
    [Fact]
    public void TiedWithIdenticalLmHeadIsAccepted()
    {
        var config = Hardening.ReadObject(Path.Combine(RepoPaths.TinyModel, "config.json"));
        config["tie_word_embeddings"] = true;
        var tensors = FormatHardeningModel.ReadAll(Path.Combine(RepoPaths.TinyModel, "model.safetensors"));
        var embed = tensors.First(t => t.Name == "model.embed_tokens.weight");
        tensors = tensors.Where(t => t.Name != "lm_head.weight").Append(embed with { Name = "lm_head.weight" }).ToList();
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?>
        {
            ["config.json"] = Hardening.Json(config), ["model.safetensors"] = FormatHardeningModel.Serialize(tensors),
        });
        var o = Hardening.Run(() => LlamaModel.Load(dir).Dispose());
        Assert.Null(o.Error);
    }

    [Theory]
    [InlineData("info")]
    [InlineData("eval")]
    [InlineData("generate")]
    public void CliNamesTheConfigField(string command)
    {
        var config = Hardening.ReadObject(Path.Combine(RepoPaths.TinyModel, "config.json"));
        config["num_hidden_layers"] = 100000000;
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["config.json"] = Hardening.Json(config) });
        Hardening.CliFails([command, "--model", dir, "--device", "cpu"], null, "config.json", "num_hidden_layers");
    }
}
