// Reading real Hugging Face safetensors files: the tiny model checkpoint and the reference fixtures.
using Lors.Models.Formats;

namespace Lors.Tests.Formats;

public class SafetensorsReadTests
{
    private static readonly string[] LayerSuffixes =
    [
        "input_layernorm.weight", "post_attention_layernorm.weight",
        "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
        "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
    ];

    [Fact]
    public void TinyModelHasEveryLlamaTensorInBf16WithConfigShapes()
    {
        var cfg = LlamaConfig.Load(FmtPaths.TinyModel);
        using var ckpt = HfWeightsReader.Open(FmtPaths.TinyModel);
        int h = cfg.HiddenSize, kv = cfg.NumKeyValueHeads * cfg.HeadDim, q = cfg.NumAttentionHeads * cfg.HeadDim, ff = cfg.IntermediateSize;
        var expected = new Dictionary<string, long[]>
        {
            ["model.embed_tokens.weight"] = [cfg.VocabSize, h],
            ["lm_head.weight"] = [cfg.VocabSize, h],
            ["model.norm.weight"] = [h],
        };
        for (int l = 0; l < cfg.NumHiddenLayers; l++)
        {
            string p = $"model.layers.{l}.";
            expected[p + "input_layernorm.weight"] = [h];
            expected[p + "post_attention_layernorm.weight"] = [h];
            expected[p + "self_attn.q_proj.weight"] = [q, h];
            expected[p + "self_attn.k_proj.weight"] = [kv, h];
            expected[p + "self_attn.v_proj.weight"] = [kv, h];
            expected[p + "self_attn.o_proj.weight"] = [h, q];
            expected[p + "mlp.gate_proj.weight"] = [ff, h];
            expected[p + "mlp.up_proj.weight"] = [ff, h];
            expected[p + "mlp.down_proj.weight"] = [h, ff];
        }
        Assert.Equal(expected.Keys.OrderBy(x => x, StringComparer.Ordinal), ckpt.Names.OrderBy(x => x, StringComparer.Ordinal));
        Assert.Equal(3 + 6 * LayerSuffixes.Length, ckpt.Names.Count());
        foreach (var (name, shape) in expected)
        {
            var (file, e) = ckpt.Find(name);
            Assert.Equal(SafeDType.BF16, e.DType);
            Assert.Equal(shape, e.Shape);
            Assert.Equal(e.ElementCount * 2, file.GetBytes(e).Length);
        }
        Assert.Equal(new long[] { 128, 256 }, ckpt.Find("model.layers.0.self_attn.k_proj.weight").Entry.Shape);
        Assert.Equal("pt", ckpt.Files[0].Metadata["format"]);
    }

    [Fact]
    public unsafe void Bf16WeightsDecodeToPlausibleValues()
    {
        using var f = SafetensorsFile.Open(Path.Combine(FmtPaths.TinyModel, "model.safetensors"));
        var e = f.Get("model.layers.0.input_layernorm.weight");
        ushort* p = (ushort*)f.GetPointer(e);
        for (int i = 0; i < e.ElementCount; i++)
        {
            float v = BitConverter.Int32BitsToSingle(p[i] << 16);
            Assert.True(float.IsFinite(v) && Math.Abs(v) < 100, $"norm weight {i} = {v}");
        }
    }

    [Fact]
    public void ReferenceFixturesOpen()
    {
        using var r = SafetensorsFile.Open(FmtPaths.Fixture("llama_ref_valid_2x128.safetensors"));
        Assert.Equal(SafeDType.I32, r.Get("input_ids").DType);
        Assert.Equal(new long[] { 2, 128, 4096 }, r.Get("logits").Shape);
        float loss = BitConverter.ToSingle(r.GetBytes(r.Get("loss")));
        Assert.Equal(4.026536f, loss, 5);

        using var fn = SafetensorsFile.Open(FmtPaths.Fixture("lors_fn_ref.safetensors"));
        var w = fn.Get("W");
        Assert.Equal(SafeDType.F64, w.DType);
        Assert.Equal(new long[] { 24, 32 }, w.Shape);
        Assert.Equal(24 * 32 * 8, fn.GetBytes(w).Length);
    }

    [Fact]
    public void MissingTensorNamesFileAndTensor()
    {
        string path = FmtPaths.Fixture("lors_fn_ref.safetensors");
        using var f = SafetensorsFile.Open(path);
        var ex = Assert.Throws<SafetensorsFormatException>(() => f.Get("nope"));
        Assert.Equal("nope", ex.TensorName);
        Assert.Contains("lors_fn_ref.safetensors", ex.Message);
        Assert.Contains("'nope'", ex.Message);
        Assert.False(f.TryGet("nope", out _));
    }

    [Fact]
    public void EntryOfAnotherFileIsRefusedAndDisposedFileThrows()
    {
        var f1 = SafetensorsFile.Open(FmtPaths.Fixture("lors_fn_ref.safetensors"));
        using var f2 = SafetensorsFile.Open(FmtPaths.Fixture("llama_ref_valid_2x128.safetensors"));
        var w = f1.Get("W");
        Assert.Throws<ArgumentException>(() => { _ = f2.GetBytes(w).Length; });
        f1.Dispose();
        Assert.Throws<ObjectDisposedException>(() => { _ = f1.GetBytes(w).Length; });
        f1.Dispose();   // idempotent
    }
}
