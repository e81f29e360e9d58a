// Malformed safetensors files and checkpoints: each must fail with a SafetensorsFormatException that
// names the file and (where one is at fault) the tensor - never an IndexOutOfRange, a hang or a huge allocation.
using System.Text;
using Lors.Models.Formats;

namespace Lors.Tests.Formats;

public class SafetensorsBadInputTests
{
    /// <summary>Writes an 8-byte length (the header's unless overridden), the header, then dataBytes zero bytes.</summary>
    private static string WriteRaw(TempDir tmp, string header, long dataBytes, ulong? lengthField = null, string name = "bad.safetensors")
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        return WriteBytes(tmp, [.. BitConverter.GetBytes(lengthField ?? (ulong)h.Length), .. h, .. new byte[dataBytes]], name);
    }

    private static string WriteBytes(TempDir tmp, byte[] bytes, string name = "bad.safetensors")
    {
        string path = tmp.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static SafetensorsFormatException Fails(string path, string? tensor, params string[] fragments)
    {
        var ex = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Equal(path, ex.FilePath);
        Assert.Contains(path, ex.Message);
        Assert.Equal(tensor, ex.TensorName);
        if (tensor is not null) Assert.Contains($"'{tensor}'", ex.Message);
        foreach (var f in fragments) Assert.Contains(f, ex.Message);
        return ex;
    }

    private const string Good = """{"x.weight":{"dtype":"F32","shape":[3,4],"data_offsets":[0,48]}}""";

    [Fact]
    public void GoodBaselineOpens()
    {
        using var tmp = new TempDir();
        using var f = SafetensorsFile.Open(WriteRaw(tmp, Good, 48));
        Assert.Equal(48, f.Get("x.weight").ByteLength);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void FileShorterThanTheLengthField(int size)
    {
        using var tmp = new TempDir();
        Fails(WriteBytes(tmp, new byte[size]), null, "too short");
    }

    [Fact]
    public void TruncatedDataSection()
    {
        using var tmp = new TempDir();
        Fails(WriteRaw(tmp, Good, 20), "x.weight", "outside the data section");
    }

    [Fact]
    public void TruncatedHeader()
    {
        using var tmp = new TempDir();
        byte[] full = File.ReadAllBytes(WriteRaw(tmp, Good, 48, name: "full.safetensors"));
        Fails(WriteBytes(tmp, full[..30]), null, "header length");
    }

    [Theory]
    [InlineData(1000UL)]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 63)]
    public void HeaderLengthBeyondTheFile(ulong length)
    {
        using var tmp = new TempDir();
        Fails(WriteRaw(tmp, Good, 48, lengthField: length), null, "header length");
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"x\":")]
    [InlineData("[1,2,3]")]
    [InlineData("")]
    public void HeaderNotAJsonObject(string header)
    {
        using var tmp = new TempDir();
        Fails(WriteRaw(tmp, header, 0), null, "header");
    }

    [Fact]
    public void HeaderNotUtf8()
    {
        using var tmp = new TempDir();
        byte[] h = [(byte)'{', 0xFF, 0xFE, (byte)'}'];
        Fails(WriteBytes(tmp, [.. BitConverter.GetBytes((ulong)h.Length), .. h]), null, "UTF-8");
    }

    [Fact]
    public void UnknownDType()
    {
        using var tmp = new TempDir();
        Fails(WriteRaw(tmp, """{"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}""", 4), "q", "F8_E4M3");
    }

    [Fact]
    public void OffsetsOutsideData()
    {
        using var tmp = new TempDir();
        Fails(WriteRaw(tmp, """{"x.weight":{"dtype":"F32","shape":[3,4],"data_offsets":[48,96]}}""", 48), "x.weight", "[48, 96]");
    }

    [Fact]
    public void BeginAfterEnd()
    {
        using var tmp = new TempDir();
        Fails(WriteRaw(tmp, """{"x":{"dtype":"U8","shape":[0],"data_offsets":[8,4]}}""", 16), "x", "begin > end");
    }

    [Fact]
    public void OverlappingOffsets()
    {
        using var tmp = new TempDir();
        string h = """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""";
        Fails(WriteRaw(tmp, h, 24), "b", "overlap", "'a'");
    }

    [Fact]
    public void ShapeAndByteCountDisagree()
    {
        using var tmp = new TempDir();
        string h = """{"x.weight":{"dtype":"F32","shape":[3,4],"data_offsets":[0,100]}}""";
        Fails(WriteRaw(tmp, h, 100), "x.weight", "data_offsets [0, 100] but shape [3,4] x F32 needs 48 bytes");
    }

    [Theory]
    [InlineData("""{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""")]
    [InlineData("""{"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""")]
    [InlineData("""{"x":{"dtype":"F32","shape":"4","data_offsets":[0,4]}}""")]
    [InlineData("""{"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""")]
    [InlineData("""{"x":{"shape":[1],"data_offsets":[0,4]}}""")]
    [InlineData("""{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}""")]
    [InlineData("""{"x":[1,2]}""")]
    [InlineData("""{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""")]
    public void MalformedEntries(string header)
    {
        using var tmp = new TempDir();
        Fails(WriteRaw(tmp, header, 4), "x");
    }

    [Fact]
    public void NonStringMetadata()
    {
        using var tmp = new TempDir();
        Fails(WriteRaw(tmp, """{"__metadata__":{"format":1}}""", 0), null, "__metadata__");
    }

    [Fact]
    public void MissingFile()
    {
        using var tmp = new TempDir();
        Fails(tmp.File("absent.safetensors"), null, "not found");
    }

    private static void WriteIndex(TempDir tmp, params (string Tensor, string Shard)[] map) =>
        File.WriteAllText(tmp.File(SafetensorsWriter.IndexFileName),
            "{\"metadata\":{\"total_size\":48},\"weight_map\":{" +
            string.Join(",", map.Select(m => $"\"{m.Tensor}\":\"{m.Shard}\"")) + "}}");

    [Fact]
    public void IndexNamingAMissingShard()
    {
        using var tmp = new TempDir();
        WriteRaw(tmp, Good, 48, name: "model-00001-of-00002.safetensors");
        WriteIndex(tmp, ("x.weight", "model-00001-of-00002.safetensors"), ("y", "model-00002-of-00002.safetensors"));
        var ex = Assert.Throws<SafetensorsFormatException>(() => HfWeightsReader.Open(tmp.Path).Dispose());
        Assert.Equal("y", ex.TensorName);
        Assert.Contains(SafetensorsWriter.IndexFileName, ex.Message);
        Assert.Contains("model-00002-of-00002.safetensors", ex.Message);
    }

    [Fact]
    public void IndexNamingATensorItsShardLacks()
    {
        using var tmp = new TempDir();
        WriteRaw(tmp, Good, 48, name: "model-00001-of-00001.safetensors");
        WriteIndex(tmp, ("x.weight", "model-00001-of-00001.safetensors"), ("ghost", "model-00001-of-00001.safetensors"));
        var ex = Assert.Throws<SafetensorsFormatException>(() => HfWeightsReader.Open(tmp.Path).Dispose());
        Assert.Equal("ghost", ex.TensorName);
        Assert.Contains(SafetensorsWriter.IndexFileName, ex.Message);
        Assert.Contains("model-00001-of-00001.safetensors", ex.Message);
    }

    [Fact]
    public void BadIndexJsonAndEscapingShardPaths()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File(SafetensorsWriter.IndexFileName), "{ nope");
        var ex = Assert.Throws<SafetensorsFormatException>(() => HfWeightsReader.Open(tmp.Path));
        Assert.Contains(SafetensorsWriter.IndexFileName, ex.Message);
        WriteIndex(tmp, ("x", "../elsewhere.safetensors"));
        ex = Assert.Throws<SafetensorsFormatException>(() => HfWeightsReader.Open(tmp.Path));
        Assert.Equal("x", ex.TensorName);
    }

    [Fact]
    public void CheckpointMissingTensorAndEmptyFolder()
    {
        using var tmp = new TempDir();
        var ex = Assert.Throws<SafetensorsFormatException>(() => HfWeightsReader.Open(tmp.Path));
        Assert.Equal(tmp.Path, ex.FilePath);

        WriteRaw(tmp, Good, 48, name: "model.safetensors");
        using var ckpt = HfWeightsReader.Open(tmp.Path);
        ex = Assert.Throws<SafetensorsFormatException>(() => ckpt.Find("missing.weight"));
        Assert.Equal("missing.weight", ex.TensorName);
        Assert.Contains(tmp.Path, ex.Message);
    }
}
