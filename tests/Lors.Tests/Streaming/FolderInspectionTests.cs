// `lors info`'s reading of a folder: the pattern of dense, nearly dense (a few exact zeros, which used to fail),
// unstructured, 2:4 and 4:8 folders, single-file and sharded, checked against the slow per-matrix SparsityCheck.
using Lors.Train.Inspection;
using Lors.Train.Pruning;

namespace Lors.Tests.Streaming;

public sealed class FolderInspectionTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("lors-info-").FullName;
    public void Dispose() => Directory.Delete(_tmp, true);

    public static TheoryData<string, long, string> Cases => new()
    {
        { "dense", long.MaxValue, "dense" },
        { "few-zeros", 3_000_000, "dense" },
        { "random50", 3_000_000, "unstructured 50.0%" },
        { "2:4", long.MaxValue, "2:4" },
        { "4:8", 3_000_000, "4:8" },
        { "1:4", 3_000_000, "1:4" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReportsThePatternAndMatchesTheSlowCheck(string kind, long shardBytes, string expected)
    {
        var transform = kind switch
        {
            "few-zeros" => (Action<string, float[], int>)((_, w, _) => { for (int i = 0; i < w.Length; i += 997) w[i] = 0; }),
            "random50" => ModelFolders.PruneRandom(0.5),
            "2:4" => ModelFolders.PruneNM(2, 4),
            "4:8" => ModelFolders.PruneNM(4, 8),
            "1:4" => ModelFolders.PruneNM(1, 4),
            _ => null,
        };
        var dir = ModelFolders.Write(Path.Combine(_tmp, kind.Replace(':', '-')), shardBytes, transform);
        // A small staging buffer: chunk boundaries fall inside every matrix, and groups must still be counted whole.
        var info = FolderInspection.Inspect(dir, stagingBytes: 4096);
        Assert.Equal(expected, info.Pattern);
        if (shardBytes < long.MaxValue) Assert.True(info.Shards > 1, $"{info.Shards} shard(s)");
        Assert.Equal(6_450_432, info.Parameters);
        var slow = SparsityCheck.Report(dir);
        Assert.Equal(slow.Layers.Count, info.Layers.Count);
        for (int l = 0; l < slow.Layers.Count; l++)
        {
            Assert.Equal(slow.Layers[l].Zeros, info.Layers[l].Zeros);
            foreach (var (p, v) in slow.Layers[l].ByProjection) Assert.Equal(v, info.Layers[l].ByProjection[p], 12);
        }
    }

    [Fact]
    public void Fp32FoldersAndRaggedGroupsOfEight()
    {
        var dir = ModelFolders.Write(Path.Combine(_tmp, "f32"), 3_000_000, ModelFolders.PruneNM(2, 4), Lors.Models.Formats.SafeDType.F32);
        Assert.Equal("2:4", FolderInspection.Inspect(dir, stagingBytes: 192).Pattern);
        // 12 floats: groups of 4 hold 2, 1 and 3 nonzeros (one -0.0 counts as zero); the tail of 4 is no group of 8.
        float[] w = [1, 0, 2, 0, -0f, 0, 0, 5, 1, 2, 3, 0];
        var (zeros, max4, max8) = FolderInspection.ScanChunk(System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.AsSpan()), 4);
        Assert.Equal((6L, 3, 3), (zeros, max4, max8));
    }

    [Fact]
    public void TheRealFolderIsDense()
    {
        var info = FolderInspection.Inspect(RepoPaths.TinyModel);
        Assert.Equal("dense", info.Pattern);
        Assert.Equal(1, info.Shards);
    }

    [Fact]
    public void AConfigClaimingALayerTheTensorsLackIsNamed()
    {
        var dir = ModelFolders.Write(Path.Combine(_tmp, "m"));
        var cfg = File.ReadAllText(Path.Combine(dir, "config.json")).Replace("\"num_hidden_layers\": 6", "\"num_hidden_layers\": 7");
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg);
        var e = Assert.Throws<Lors.Models.Formats.ConfigFormatException>(() => FolderInspection.Inspect(dir));
        Assert.Contains("num_hidden_layers", e.Message);
        Assert.Contains("decoder layer 5", e.Message);
    }
}
