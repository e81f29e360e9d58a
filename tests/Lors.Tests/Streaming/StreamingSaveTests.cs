// Streaming load and save: a sharded folder loaded through a tiny staging buffer and saved again keeps its shard
// files, index and bytes; the save allocates far less than the model; bad folders and a disk that fills give clear
// errors and leave nothing under the final name.
using Lors.Models.Formats;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Adapters;

namespace Lors.Tests.Streaming;

public sealed class StreamingSaveTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("lors-stream-").FullName;
    public void Dispose() => Directory.Delete(_tmp, true);
    private string Sub(string n) => Path.Combine(_tmp, n);

    private static string[] Shards(string dir) => Directory.GetFiles(dir, "*.safetensors").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    [Fact]
    public void ShardedRoundTripKeepsLayoutIndexAndBytes()
    {
        var src = ModelFolders.Write(Sub("src"), maxShardBytes: 3_000_000);
        Assert.True(Shards(src).Length >= 3, string.Join(", ", Shards(src)));
        using var staging = new TensorStaging(4096);
        using (var model = LlamaModel.Load(src, Device.Cpu, DType.F32, stagingBytes: 4096))
            model.SaveFolder(Sub("out"), src, staging: staging);
        Assert.InRange(staging.PeakChunkBytes, 1, 4096);
        Assert.Equal(Shards(src), Shards(Sub("out")));
        Assert.Equal(File.ReadAllText(Path.Combine(src, SafetensorsWriter.IndexFileName)), File.ReadAllText(Path.Combine(Sub("out"), SafetensorsWriter.IndexFileName)));
        foreach (var f in Shards(src))
            Assert.True(File.ReadAllBytes(Path.Combine(src, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(Sub("out"), f))), $"{f} differs");
        Assert.Empty(Directory.GetDirectories(_tmp, "out.tmp-*"));
    }

    [Fact]
    public void LoadThroughATinyBufferEqualsTheMappedRead()
    {
        using var staging = new TensorStaging(4096);
        using var model = LlamaModel.Load(RepoPaths.TinyModel, Device.Cpu, DType.F32, stagingBytes: 4096);
        using var reader = HfWeightsReader.Open(RepoPaths.TinyModel);
        foreach (var (name, v) in model.Parameters())
        {
            var (file, e) = reader.Find(name);
            using var direct = Tensor.FromBytes(file.GetBytes(e), v.Shape, DType.BF16);
            Assert.Equal(direct.ToFloatArray(), v.Data.ToFloatArray());
        }
    }

    [Fact]
    public void SaveAllocatesABoundedBufferNotTheModel()
    {
        using var model = LlamaModel.Load(RepoPaths.TinyModel, Device.Cpu, DType.F32);
        long modelBytes = model.ParameterCount * 4;
        using var staging = new TensorStaging(64 << 10);
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.SaveFolder(Sub("f32"), RepoPaths.TinyModel, storeType: DType.F32, staging: staging);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // Building the whole file in memory (as before) allocates at least the model's 25.8 MB.
        Assert.True(allocated < modelBytes / 8, $"save allocated {allocated:N0} bytes for a {modelBytes:N0}-byte model");
        using var back = LlamaModel.Load(Sub("f32"), Device.Cpu, DType.F32);
        foreach (var ((n, a), (_, b)) in model.Parameters().Zip(back.Parameters())) Assert.True(a.Data.ToFloatArray().AsSpan().SequenceEqual(b.Data.ToFloatArray()), n);
    }

    [Fact]
    public void AShardTheIndexNamesButTheFolderLacksIsNamed()
    {
        var dir = ModelFolders.Write(Sub("m"), maxShardBytes: 3_000_000);
        var gone = Shards(dir)[1];
        File.Delete(Path.Combine(dir, gone));
        var e = Assert.Throws<SafetensorsFormatException>(() => LlamaModel.Load(dir));
        Assert.Contains(gone, e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void AShardTheIndexDoesNotNameIsRefused()
    {
        var dir = ModelFolders.Write(Sub("m"), maxShardBytes: 3_000_000);
        var n = Shards(dir).Length;
        var stray = $"model-{n + 1:D5}-of-{n + 1:D5}.safetensors";
        File.Copy(Path.Combine(dir, Shards(dir)[0]), Path.Combine(dir, stray));
        var e = Assert.Throws<SafetensorsFormatException>(() => Lors.Train.Inspection.FolderInspection.Inspect(dir));
        Assert.Contains(stray, e.Message);
        Assert.Contains("does not name", e.Message);
    }

    [Fact]
    public void ADiskThatFillsLeavesNothingUnderTheFinalName()
    {
        using var model = LlamaModel.Load(RepoPaths.TinyModel, Device.Cpu, DType.F32);
        Directory.CreateDirectory(Sub("old"));
        File.WriteAllText(Path.Combine(Sub("old"), "marker"), "previous");
        try
        {
            AtomicFile.WrapForTests.Value = s => new FullDiskStream(s, 1 << 20);
            var e = Assert.Throws<IOException>(() => model.SaveFolder(Sub("new"), RepoPaths.TinyModel));
            Assert.Contains("disk filled", e.Message);
            Assert.Contains(Sub("new"), e.Message);
            Assert.False(Directory.Exists(Sub("new")));
            // With --force over an existing folder, the old one stays intact.
            Assert.Throws<IOException>(() => model.SaveFolder(Sub("old"), RepoPaths.TinyModel, force: true));
            Assert.Equal("previous", File.ReadAllText(Path.Combine(Sub("old"), "marker")));
        }
        finally { AtomicFile.WrapForTests.Value = null; }
        Assert.Equal(["old"], Directory.GetDirectories(_tmp).Select(Path.GetFileName));
    }

    [Fact]
    public void MergeOfAShardedFolderKeepsTheLayoutAndThePattern()
    {
        var src = ModelFolders.Write(Sub("pruned"), maxShardBytes: 3_000_000, transform: ModelFolders.PruneNM(2, 4));
        using (var model = LlamaModel.Load(src))
        using (var adapters = AdapterSet.Attach(model, new AdapterConfig { Rank = 4, Seed = 3 }))
        {
            foreach (var (name, p) in adapters.Parameters)
            {
                using var r = Ops.RandomNormal(p.Shape, (ulong)name.Length, 0, 0.05, DType.F32, Device.Cpu);
                Ops.CopyInto(r, p.Data);
            }
            adapters.Save(Sub("adapter"));
        }
        var (report, phases) = Lors.Cli.Commands.MergeCommand.Merge(src, Sub("adapter"), Sub("merged"), force: false, Device.Cpu);
        Assert.True(report.SparsityPreserved);
        Assert.True(report.Rows.Sum(r => r.Elements) > 0);
        Assert.Contains("save", phases.Seconds.Keys);
        Assert.Equal(Shards(src), Shards(Sub("merged")));
        var info = Lors.Train.Inspection.FolderInspection.Inspect(Sub("merged"));
        Assert.Equal("2:4", info.Pattern);
        // The merge changed the weights (the adapters were not zero).
        Assert.False(File.ReadAllBytes(Path.Combine(src, Shards(src)[1])).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(Sub("merged"), Shards(src)[1]))));
    }

    /// <summary>Fails like a full disk once <paramref name="room"/> bytes have been written.</summary>
    private sealed class FullDiskStream(Stream inner, long room) : Stream
    {
        private long _written;
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_written + buffer.Length > room) throw new IOException("No space left on device", 28);
            inner.Write(buffer);
            _written += buffer.Length;
        }
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
