// The tiny model as a sharded checkpoint (model.safetensors.index.json + shards), with the index or a shard
// broken: each load is refused naming the index or the shard and the tensor, without escaping the folder.
using System.Text.Json.Nodes;
using Lors.Models.Formats;
using Lors.Models.Llama;

namespace Lors.Tests.Hardening;

/// <summary>The tiny model re-saved in shards of at most 4 MB (so about four shards), made once.</summary>
public sealed class ShardedTemplate : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("lors-harden-sharded-").FullName;

    public ShardedTemplate()
    {
        using var f = SafetensorsFile.Open(Path.Combine(RepoPaths.TinyModel, "model.safetensors"));
        SafetensorsWriter.WriteSharded(Dir, f.Entries.Select(e => TensorToWrite.FromFile(f, e)).ToList(), 4 << 20);
        foreach (var name in new[] { "config.json", "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(RepoPaths.TinyModel, name), Path.Combine(Dir, name));
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}

[Collection("FormatHardening")]
public sealed class FormatHardeningShardedTests(HardeningScratch scratch, ShardedTemplate template)
    : IClassFixture<HardeningScratch>, IClassFixture<ShardedTemplate>
{
    private const string Victim = "model.layers.2.mlp.up_proj.weight";

    [Fact]
    public void ShardedBaselineLoads()
    {
        Assert.True(Directory.GetFiles(template.Dir, "model-*-of-*.safetensors").Length > 1);
        var o = Hardening.Run(() => LlamaModel.Load(template.Dir).Dispose());
        Assert.Null(o.Error);
    }

    public static TheoryData<string, string> IndexEdits() => new()
    {
        { "shard name is a number", "5" },
        { "shard outside the folder", "\"../model.safetensors\"" },
        { "absolute shard path", "\"/etc/passwd\"" },
        { "shard that does not exist", "\"model-00009-of-00009.safetensors\"" },
        { "empty shard name", "\"\"" },
        { "shard without the tensor", "FIRST_OTHER_SHARD" },
        { "missing from the map", "REMOVE" },
    };

    [Theory]
    [MemberData(nameof(IndexEdits))]
    public void IndexEntryBroken(string what, string json)
    {
        _ = what;
        var index = Hardening.ReadObject(Path.Combine(template.Dir, SafetensorsWriter.IndexFileName));
        var map = index["weight_map"]!.AsObject();
        string own = (string)map[Victim]!;
        if (json == "REMOVE") map.Remove(Victim);
        else map[Victim] = json == "FIRST_OTHER_SHARD" ? map.Select(kv => (string)kv.Value!).First(s => s != own) : Hardening.Value(json);
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { [SafetensorsWriter.IndexFileName] = Hardening.Json(index) }, template.Dir);
        var o = Hardening.Run(() => LlamaModel.Load(dir).Dispose());
        Assert.NotNull(o.Error);
        Assert.True(o.Error is SafetensorsFormatException or InvalidDataException, o.Error!.GetType().Name + ": " + o.Error.Message);
        Hardening.CheckMessage(o.Error.Message, dir, Victim);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("[]")]
    [InlineData("{\"metadata\": {}}")]
    [InlineData("{\"weight_map\": []}")]
    public void IndexNotUsable(string text)
    {
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { [SafetensorsWriter.IndexFileName] = System.Text.Encoding.UTF8.GetBytes(text) }, template.Dir);
        Hardening.Fails<SafetensorsFormatException>(() => LlamaModel.Load(dir).Dispose(), Path.Combine(dir, SafetensorsWriter.IndexFileName));
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("header off by one")]
    [InlineData("NaN")]
    public void ShardBroken(string edit)
    {
        var index = Hardening.ReadObject(Path.Combine(template.Dir, SafetensorsWriter.IndexFileName));
        string shard = (string)index["weight_map"]![Victim]!;
        var bytes = File.ReadAllBytes(Path.Combine(template.Dir, shard));
        bytes = edit switch
        {
            "truncated" => bytes[..^3],
            "header off by one" => FormatHardeningModel.WithHeaderLength(bytes, (ulong)FormatHardeningModel.HeaderLength(bytes) - 1),
            _ => FormatHardeningModel.WithElement(bytes, Victim, 11, double.NaN),
        };
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { [shard] = bytes }, template.Dir);
        Hardening.Fails<SafetensorsFormatException>(() => LlamaModel.Load(dir).Dispose(), Path.Combine(dir, shard));
    }
}
