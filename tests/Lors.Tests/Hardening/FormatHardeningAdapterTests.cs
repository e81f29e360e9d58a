// Malformed adapter folders through `lors merge` (in-process): adapter_config.json with every field wrong-typed or
// out of range (enums by name only), and adapter weights that are NaN, Inf or absurdly large, missing, extra or of
// the wrong shape. Each must exit non-zero naming the file and the field or tensor, and write no output folder.
using System.Text.Json.Nodes;
using Lors.Models.Formats;
using Lors.Models.Llama;
using Lors.Train.Adapters;

namespace Lors.Tests.Hardening;

/// <summary>A valid rank-2 LoRS adapter of the tiny model (B random, A set to small values), made once.</summary>
public sealed class AdapterTemplate : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("lors-harden-adapter-").FullName;

    public AdapterTemplate()
    {
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        using var set = AdapterSet.Attach(model, new AdapterConfig { Rank = 2, Alpha = 4, Init = AdapterInit.Lora });
        foreach (var (_, p) in set.Parameters) Lors.Tensors.Ops.CopyInto(Lors.Tensors.Ops.RandomUniform(p.Shape, 3, -0.01, 0.01), p.Data);
        set.Save(Dir);
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}

[Collection("FormatHardening")]
public sealed class FormatHardeningAdapterTests(HardeningScratch scratch, AdapterTemplate template)
    : IClassFixture<HardeningScratch>, IClassFixture<AdapterTemplate>
{
    public static TheoryData<string, string> ConfigEdits() => new()
    {
        { "method", "3" }, { "method", "0" }, { "method", "\"dora\"" }, { "method", "\"LoRS\"" }, { "method", "null" }, { "method", "[]" },
        { "rank", "0" }, { "rank", "-1" }, { "rank", "\"4\"" }, { "rank", "1.5" }, { "rank", "2147483647" }, { "rank", "300" }, { "rank", "null" }, { "rank", "true" },
        { "alpha", "0" }, { "alpha", "-1" }, { "alpha", "\"x\"" }, { "alpha", "null" }, { "alpha", "1e400" },
        { "targets", "null" }, { "targets", "[]" }, { "targets", "[\"q\", \"q\"]" }, { "targets", "[\"x\"]" }, { "targets", "[0]" }, { "targets", "\"q\"" }, { "targets", "[null]" },
        { "init", "1" }, { "init", "\"svd\"" }, { "init", "null" },
        { "init_samples", "0" }, { "init_samples", "\"x\"" }, { "init_samples", "-5" },
        { "gamma", "0" }, { "gamma", "-1" }, { "gamma", "\"1\"" },
        { "seed", "-1" }, { "seed", "\"x\"" }, { "seed", "1.5" },
        { "base_model", "5" }, { "base_model", "[]" },
        { "format_version", "2" }, { "format_version", "\"1\"" }, { "format_version", "0" },
        { "gradient", "\"yes\"" }, { "gradient", "1" },
        { "rnak", "4" },
    };

    [Theory]
    [MemberData(nameof(ConfigEdits))]
    public void AdapterConfigFieldRefused(string field, string json)
    {
        var config = Hardening.ReadObject(Path.Combine(template.Dir, AdapterSet.ConfigFile));
        config[field] = Hardening.Value(json);
        string dir = AdapterCase(new() { [AdapterSet.ConfigFile] = Hardening.Json(config) });
        string outDir = scratch.NewPath("merged");
        // rank 300 is a valid number but exceeds the projections' sizes; the message then names the projection.
        Hardening.CliFails(["merge", "--model", RepoPaths.TinyModel, "--adapter", dir, "--out", outDir], outDir,
            Path.Combine(dir, AdapterSet.ConfigFile), field);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"rank\": 2,}")]
    [InlineData("{\"rank\": 2, \"rank\": 3}")]
    public void AdapterConfigNotAnObject(string text)
    {
        string dir = AdapterCase(new() { [AdapterSet.ConfigFile] = System.Text.Encoding.UTF8.GetBytes(text) });
        string outDir = scratch.NewPath("merged");
        Hardening.CliFails(["merge", "--model", RepoPaths.TinyModel, "--adapter", dir, "--out", outDir], outDir, AdapterSet.ConfigFile);
    }

    public static TheoryData<string, double> WeightValues()
    {
        var d = new TheoryData<string, double>();
        foreach (var t in new[] { "model.layers.0.self_attn.q_proj.lors_A", "model.layers.5.mlp.down_proj.lors_B", "model.layers.3.self_attn.v_proj.lors_B" })
            foreach (var v in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e30, -1e30 })
                d.Add(t, v);
        return d;
    }

    [Theory]
    [MemberData(nameof(WeightValues))]
    public void AdapterWeightOutOfRangeRefused(string tensor, double value)
    {
        var file = File.ReadAllBytes(Path.Combine(template.Dir, AdapterSet.WeightsFile));
        long n = FormatHardeningModel.ElementCount(file, tensor);
        string dir = AdapterCase(new() { [AdapterSet.WeightsFile] = FormatHardeningModel.WithElement(file, tensor, n / 3, value) });
        string outDir = scratch.NewPath("merged");
        Hardening.CliFails(["merge", "--model", RepoPaths.TinyModel, "--adapter", dir, "--out", outDir], outDir,
            Path.Combine(dir, AdapterSet.WeightsFile), tensor);
    }

    public static TheoryData<string> WeightEdits() => ["missing", "extra", "f16", "shape", "truncated", "no file", "header off by one"];

    [Theory]
    [MemberData(nameof(WeightEdits))]
    public void AdapterWeightsFileRefused(string edit)
    {
        string path = Path.Combine(template.Dir, AdapterSet.WeightsFile);
        var tensors = FormatHardeningModel.ReadAll(path);
        const string victim = "model.layers.1.mlp.up_proj.lors_A";
        byte[]? bytes = edit switch
        {
            "missing" => FormatHardeningModel.Serialize(tensors.Where(t => t.Name != victim).ToList()),
            "extra" => FormatHardeningModel.Serialize([.. tensors, new TensorToWrite("model.layers.9.mlp.up_proj.lors_A", SafeDType.F32, [1], new byte[4])]),
            "f16" => FormatHardeningModel.Serialize(tensors.Select(t => t.Name == victim ? t with { DType = SafeDType.F16, Shape = [t.Shape[0], t.Shape[1] * 2] } : t).ToList()),
            "shape" => FormatHardeningModel.Serialize(tensors.Select(t => t.Name == victim ? t with { Shape = [t.Shape[1], t.Shape[0]] } : t).ToList()),
            "truncated" => File.ReadAllBytes(path)[..^5],
            "header off by one" => FormatHardeningModel.WithHeaderLength(File.ReadAllBytes(path), (ulong)FormatHardeningModel.HeaderLength(File.ReadAllBytes(path)) - 1),
            _ => null,
        };
        string dir = AdapterCase(new() { [AdapterSet.WeightsFile] = bytes });
        string outDir = scratch.NewPath("merged");
        string[] mentioned = edit switch
        {
            "missing" or "f16" or "shape" => [AdapterSet.WeightsFile, victim],
            "extra" => [AdapterSet.WeightsFile, "model.layers.9.mlp.up_proj.lors_A"],
            _ => [AdapterSet.WeightsFile],
        };
        Hardening.CliFails(["merge", "--model", RepoPaths.TinyModel, "--adapter", dir, "--out", outDir], outDir, mentioned);
    }

    /// <summary>Finite adapters whose merged weight overflows (A and B near the limit, large alpha): refused before writing.</summary>
    [Fact]
    public void MergedWeightOverflowWritesNothing()
    {
        var config = Hardening.ReadObject(Path.Combine(template.Dir, AdapterSet.ConfigFile));
        config["alpha"] = 1e30;
        config["method"] = "lora";
        string path = Path.Combine(template.Dir, AdapterSet.WeightsFile);
        var tensors = FormatHardeningModel.ReadAll(path).Select(t => t with
        {
            Data = Enumerable.Repeat(BitConverter.GetBytes(9e5f), (int)(t.Data.Length / 4)).SelectMany(b => b).ToArray(),
        }).ToList();
        string dir = AdapterCase(new() { [AdapterSet.ConfigFile] = Hardening.Json(config), [AdapterSet.WeightsFile] = FormatHardeningModel.Serialize(tensors) });
        string outDir = scratch.NewPath("merged");
        Hardening.CliFails(["merge", "--model", RepoPaths.TinyModel, "--adapter", dir, "--out", outDir], outDir, "merged weight", "not finite");
    }

    [Fact]
    public void ValidAdapterMerges()
    {
        string outDir = scratch.NewPath("merged");
        var (rc, _, stderr) = Hardening.Cli("merge", "--model", RepoPaths.TinyModel, "--adapter", template.Dir, "--out", outDir, "--json");
        Assert.True(rc == 0, stderr);
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
    }

    private string AdapterCase(Dictionary<string, byte[]?> replace) => scratch.ModelCase(replace, template.Dir);
}
