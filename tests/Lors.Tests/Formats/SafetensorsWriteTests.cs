// Writer round trips (single file and sharded with an index) and the atomic-write guarantees.
using System.Runtime.InteropServices;
using System.Text.Json;
using Lors.Models.Formats;

namespace Lors.Tests.Formats;

public class SafetensorsWriteTests
{
    private static TensorToWrite F32(string name, long[] shape, float start)
    {
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var data = Enumerable.Range(0, (int)n).Select(i => start + i).ToArray();
        return new TensorToWrite(name, SafeDType.F32, shape, MemoryMarshal.AsBytes(data.AsSpan()).ToArray());
    }

    private static List<TensorToWrite> Sample() =>
    [
        F32("b.weight", [3, 4], 0),
        F32("a.bias", [4], 100),
        new TensorToWrite("ids", SafeDType.I64, [2], BitConverter.GetBytes(7L).Concat(BitConverter.GetBytes(-1L)).ToArray()),
        new TensorToWrite("scalar", SafeDType.BF16, [], new byte[] { 0x80, 0x3F }),
        new TensorToWrite("empty", SafeDType.F16, [0, 5], ReadOnlyMemory<byte>.Empty),
        TensorToWrite.Streamed("streamed", SafeDType.U8, [5], s => s.Write([1, 2, 3, 4, 5])),
    ];

    private static void AssertSameContent(IReadOnlyList<TensorToWrite> written, Func<string, (SafetensorsFile, SafetensorsEntry)> find)
    {
        foreach (var t in written)
        {
            var (file, e) = find(t.Name);
            Assert.Equal(t.DType, e.DType);
            Assert.Equal(t.Shape, e.Shape);
            var expected = new MemoryStream();
            if (t.WriteData is { } w) w(expected); else expected.Write(t.Data.Span);
            Assert.Equal(expected.ToArray(), file.GetBytes(e).ToArray());
        }
    }

    [Fact]
    public void SingleFileRoundTripWithMetadata()
    {
        using var tmp = new TempDir();
        string path = tmp.File("x.safetensors");
        var tensors = Sample();
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünï" });

        using var f = SafetensorsFile.Open(path);
        Assert.Equal(tensors.Select(t => t.Name).OrderBy(x => x, StringComparer.Ordinal), f.Entries.Select(e => e.Name));
        Assert.Equal("ünï", f.Metadata["note"]);
        AssertSameContent(tensors, n => (f, f.Get(n)));
        Assert.Equal(1L, f.Get("scalar").ElementCount);
        Assert.Equal(0L, f.Get("empty").ByteLength);

        // HF layout: 8-byte aligned header, contiguous offsets covering the whole data section.
        byte[] raw = File.ReadAllBytes(path);
        Assert.Equal(0UL, BitConverter.ToUInt64(raw, 0) % 8);
        Assert.Equal(f.DataLength, f.Entries.Sum(e => e.ByteLength));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void ShardedRoundTripWritesIndexAndShards()
    {
        using var tmp = new TempDir();
        var tensors = Sample();
        SafetensorsWriter.WriteSharded(tmp.Path, tensors, maxShardBytes: 48);

        string index = tmp.File(SafetensorsWriter.IndexFileName);
        Assert.True(File.Exists(index));
        Assert.False(File.Exists(tmp.File("model.safetensors")));
        using var doc = JsonDocument.Parse(File.ReadAllText(index));
        long total = tensors.Sum(t => t.ByteLength);
        Assert.Equal(total, doc.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        var shards = doc.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()!).Distinct().ToList();
        Assert.True(shards.Count >= 2);
        Assert.All(shards, s => Assert.Matches($@"^model-\d{{5}}-of-{shards.Count:D5}\.safetensors$", s));
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.tmp"));

        using var ckpt = HfWeightsReader.Open(tmp.Path);
        Assert.Equal(tensors.Count, ckpt.Names.Count());
        Assert.True(ckpt.Contains("b.weight"));
        AssertSameContent(tensors, n => ckpt.Find(n));

        // Saving again small enough for one shard replaces the index and shards by model.safetensors.
        ckpt.Dispose();
        SafetensorsWriter.WriteSharded(tmp.Path, tensors, maxShardBytes: 1 << 20);
        Assert.Equal(["model.safetensors"], Directory.GetFiles(tmp.Path).Select(Path.GetFileName));
        using var single = HfWeightsReader.Open(tmp.Path);
        AssertSameContent(tensors, n => single.Find(n));
    }

    [Fact]
    public void CopyingACheckpointTensorByTensorReproducesIt()
    {
        using var tmp = new TempDir();
        using var src = SafetensorsFile.Open(FmtPaths.Fixture("lors_fn_ref.safetensors"));
        var tensors = src.Entries.Select(e => TensorToWrite.FromFile(src, e)).ToList();
        SafetensorsWriter.Write(tmp.File("copy.safetensors"), tensors);
        using var copy = SafetensorsFile.Open(tmp.File("copy.safetensors"));
        foreach (var e in src.Entries)
            Assert.Equal(src.GetBytes(e).ToArray(), copy.GetBytes(copy.Get(e.Name)).ToArray());
    }

    [Fact]
    public void ThrowingDelegateLeavesNoFileAndKeepsThePreviousOne()
    {
        using var tmp = new TempDir();
        string path = tmp.File("m.safetensors");
        var boom = TensorToWrite.Streamed("z", SafeDType.F32, [4], s => { s.Write(new byte[8]); throw new InvalidOperationException("boom"); });
        Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Write(path, [F32("a", [2], 0), boom]));
        Assert.Empty(Directory.GetFiles(tmp.Path));

        SafetensorsWriter.Write(path, [F32("a", [2], 0)]);
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Write(path, [boom]));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void DelegateWritingTheWrongByteCountIsRejected()
    {
        using var tmp = new TempDir();
        string path = tmp.File("m.safetensors");
        var few = TensorToWrite.Streamed("few", SafeDType.F32, [4], s => s.Write(new byte[15]));
        var ex = Assert.Throws<SafetensorsFormatException>(() => SafetensorsWriter.Write(path, [few]));
        Assert.Equal("few", ex.TensorName);
        var many = TensorToWrite.Streamed("many", SafeDType.F32, [4], s => s.Write(new byte[17]));
        ex = Assert.Throws<SafetensorsFormatException>(() => SafetensorsWriter.Write(path, [many]));
        Assert.Equal("many", ex.TensorName);
        Assert.Empty(Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void InvalidTensorListsAreRejectedBeforeWriting()
    {
        using var tmp = new TempDir();
        string path = tmp.File("m.safetensors");
        var ex = Assert.Throws<SafetensorsFormatException>(() =>
            SafetensorsWriter.Write(path, [new TensorToWrite("w", SafeDType.F32, [3, 4], new byte[47])]));
        Assert.Contains("'w'", ex.Message);
        Assert.Contains("48", ex.Message);
        Assert.Throws<SafetensorsFormatException>(() => SafetensorsWriter.Write(path, [F32("a", [1], 0), F32("a", [1], 0)]));
        Assert.Throws<SafetensorsFormatException>(() => SafetensorsWriter.Write(path, [F32("__metadata__", [1], 0)]));
        Assert.Empty(Directory.GetFiles(tmp.Path));
    }
}
