// Malformed safetensors: truncation at every structural boundary, header length off by a little or a lot, bad
// offsets (gaps, overlaps, past the end), dtypes, shapes (overflowing products), duplicate names, NaN/Inf weights.
// Each is refused naming the file (and the tensor where one is at fault), fast and without a large allocation.
using System.Text.Json.Nodes;
using Lors.Models.Formats;
using Lors.Models.Llama;

namespace Lors.Tests.Hardening;

[Collection("FormatHardening")]
public sealed class FormatHardeningSafetensorsTests(HardeningScratch scratch) : IClassFixture<HardeningScratch>
{
    private string WriteFile(byte[] bytes)
    {
        string path = scratch.NewPath("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private void OpenFails(byte[] bytes, params string[] fragments)
    {
        string path = WriteFile(bytes);
        Hardening.Fails<SafetensorsFormatException>(() => SafetensorsFile.Open(path).Dispose(), [path, .. fragments]);
    }

    private void LoadFails(byte[] modelBytes, params string[] fragments)
    {
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["model.safetensors"] = modelBytes });
        Hardening.Fails<SafetensorsFormatException>(() => LlamaModel.Load(dir).Dispose(), [Path.Combine(dir, "model.safetensors"), .. fragments]);
    }

    public static TheoryData<long> SyntheticBoundaries() => new(FormatHardeningModel.Boundaries(FormatHardeningModel.Synthetic()));
    public static TheoryData<long> TinyBoundaries()
    {
        // The tiny model has 58 tensors: take the structural points of the length field and header, and the ends
        // of the first, a middle and the last tensor (each cut needs a 13 MB copy).
        var file = FormatHardeningModel.Tiny();
        long data = 8 + FormatHardeningModel.HeaderLength(file);
        var offs = FormatHardeningModel.Offsets(file).Values.OrderBy(o => o.Begin).ToList();
        var picks = new[] { offs[0], offs[offs.Count / 2], offs[^1] };
        var d = new TheoryData<long> { 0, 3, 8, 9, data - 1, data };
        foreach (var (b, e) in picks) { d.Add(data + b + 1); d.Add(data + e - 1); }
        return d;
    }

    [Fact]
    public void SyntheticBaselineOpens()
    {
        string path = WriteFile(FormatHardeningModel.Synthetic());
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(3, f.Entries.Count);
    }

    [Theory]
    [MemberData(nameof(SyntheticBoundaries))]
    public void SyntheticTruncatedAtBoundary(long length) => OpenFails(FormatHardeningModel.Synthetic()[..(int)length]);

    [Theory]
    [MemberData(nameof(TinyBoundaries))]
    public void TinyModelTruncatedAtBoundary(long length) => LoadFails(FormatHardeningModel.Tiny()[..(int)length]);

    [Theory]
    [InlineData(-8)]
    [InlineData(-2)]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    public void SyntheticHeaderLengthOff(int delta)
    {
        var f = FormatHardeningModel.Synthetic();
        OpenFails(FormatHardeningModel.WithHeaderLength(f, (ulong)(FormatHardeningModel.HeaderLength(f) + delta)));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public void TinyModelHeaderLengthOffByOne(int delta)
    {
        var f = FormatHardeningModel.Tiny();
        LoadFails(FormatHardeningModel.WithHeaderLength(f, (ulong)(FormatHardeningModel.HeaderLength(f) + delta)));
    }

    [Theory]
    [InlineData(ulong.MaxValue)]
    [InlineData(1UL << 63)]
    [InlineData(1UL << 40)]
    [InlineData(0UL)]
    public void SyntheticHeaderLengthAbsurd(ulong length) => OpenFails(FormatHardeningModel.WithHeaderLength(FormatHardeningModel.Synthetic(), length));

    [Fact]
    public void GapBetweenTensors()
    {
        const string header = """{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[28,32]}}""";
        OpenFails([.. BitConverter.GetBytes((ulong)header.Length), .. System.Text.Encoding.UTF8.GetBytes(header), .. new byte[32]], "'b'", "gap");
    }

    [Fact]
    public void TrailingBytesAfterTheLastTensor() => OpenFails([.. FormatHardeningModel.Synthetic(), 0, 0, 0, 0], "cover");

    /// <summary>Header edits: (tensor to edit, its JSON field, the new value as JSON, text the message must hold).</summary>
    public static TheoryData<string, string, string, string> HeaderEdits() => new()
    {
        // offsets: begin > end, past the end, gaps, overlaps, not at 0, wrong arity and types, huge
        { "a", "data_offsets", "[24, 0]", "begin > end" },
        { "c", "data_offsets", "[32, 1000]", "data section" },
        { "c", "data_offsets", "[34, 46]", "data section" },
        { "b", "data_offsets", "[20, 28]", "overlap" },
        { "a", "data_offsets", "[1, 25]", "a" },
        { "a", "data_offsets", "[-1, 23]", "data_offsets" },
        { "a", "data_offsets", "[0.5, 24]", "data_offsets" },
        { "a", "data_offsets", "[\"0\", 24]", "data_offsets" },
        { "a", "data_offsets", "[0, 24, 48]", "data_offsets" },
        { "a", "data_offsets", "[0]", "data_offsets" },
        { "a", "data_offsets", "\"0-24\"", "data_offsets" },
        { "a", "data_offsets", "null", "data_offsets" },
        { "a", "data_offsets", "[9223372036854775807, 9223372036854775807]", "data" },
        { "a", "data_offsets", "[0, 18446744073709551615]", "data_offsets" },
        // dtypes
        { "a", "dtype", "\"F8_E4M3\"", "dtype" },
        { "a", "dtype", "\"f32\"", "dtype" },
        { "a", "dtype", "\"\"", "dtype" },
        { "a", "dtype", "5", "dtype" },
        { "a", "dtype", "null", "dtype" },
        { "a", "dtype", "\"I4\"", "dtype" },
        { "a", "dtype", "\"F64\"", "needs" },
        { "b", "dtype", "\"F32\"", "needs" },
        { "c", "dtype", "\"BOOL\"", "needs" },
        // shapes: mismatched, overflowing products, negative, fractional, wrong types
        { "a", "shape", "[3, 3]", "needs" },
        { "a", "shape", "[6, 1, 1, 2]", "needs" },
        { "a", "shape", "[]", "needs" },
        { "a", "shape", "[4611686018427387904, 4]", "overflow" },
        { "a", "shape", "[2147483648, 2147483648, 2147483648]", "overflow" },
        { "a", "shape", "[9223372036854775807, 2]", "overflow" },
        { "a", "shape", "[-2, -3]", "shape" },
        { "a", "shape", "[2.5, 3]", "shape" },
        { "a", "shape", "[\"2\", 3]", "shape" },
        { "a", "shape", "\"[2,3]\"", "shape" },
        { "a", "shape", "null", "shape" },
        { "a", "shape", "{}", "shape" },
    };

    [Theory]
    [MemberData(nameof(HeaderEdits))]
    public void HeaderFieldEdited(string tensor, string field, string json, string mentioned)
    {
        var f = FormatHardeningModel.Synthetic();
        var header = FormatHardeningModel.Header(f);
        header[tensor]![field] = Hardening.Value(json);
        OpenFails(FormatHardeningModel.WithHeader(f, header.ToJsonString()), $"'{tensor}'", mentioned);
    }

    [Theory]
    [InlineData("dtype")]
    [InlineData("shape")]
    [InlineData("data_offsets")]
    public void HeaderFieldMissing(string field)
    {
        var f = FormatHardeningModel.Synthetic();
        var header = FormatHardeningModel.Header(f);
        header["b"]!.AsObject().Remove(field);
        OpenFails(FormatHardeningModel.WithHeader(f, header.ToJsonString()), "'b'", field);
    }

    public static TheoryData<string, string> RawHeaders() => new()
    {
        { "duplicate name", """{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}""" },
        { "not an object", """[1, 2]""" },
        { "entry not an object", """{"a": [0, 24]}""" },
        { "metadata value not a string", """{"__metadata__":{"format":5},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}""" },
        { "metadata not an object", """{"__metadata__":"pt","a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}""" },
        { "invalid JSON", """{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}""" },
        { "empty header", "" },
        { "trailing comma", """{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},}""" },
    };

    [Theory]
    [MemberData(nameof(RawHeaders))]
    public void HeaderMalformed(string what, string header)
    {
        _ = what;
        byte[] data = new byte[24];
        OpenFails([.. BitConverter.GetBytes((ulong)System.Text.Encoding.UTF8.GetByteCount(header)), .. System.Text.Encoding.UTF8.GetBytes(header), .. data]);
    }

    [Fact]
    public void HeaderNotUtf8()
    {
        byte[] header = [(byte)'{', 0xC3, 0x28, (byte)'}'];
        OpenFails([.. BitConverter.GetBytes((ulong)header.Length), .. header], "UTF-8");
    }

    public static TheoryData<string, string, double> NonFiniteCases()
    {
        var d = new TheoryData<string, string, double>();
        foreach (var t in new[] { "model.embed_tokens.weight", "lm_head.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.5.mlp.down_proj.weight", "model.norm.weight" })
            foreach (var (where, v) in new[] { ("first", double.NaN), ("first", double.PositiveInfinity), ("last", double.NegativeInfinity), ("last", double.NaN), ("middle", double.PositiveInfinity) })
                d.Add(t, where, v);
        return d;
    }

    [Theory]
    [MemberData(nameof(NonFiniteCases))]
    public void NonFiniteWeightIsRefusedOnLoad(string tensor, string where, double value)
    {
        var f = FormatHardeningModel.Tiny();
        long n = FormatHardeningModel.ElementCount(f, tensor);
        long index = where switch { "first" => 0, "last" => n - 1, _ => n / 2 };
        LoadFails(FormatHardeningModel.WithElement(f, tensor, index, value), $"'{tensor}'", double.IsNaN(value) ? "NaN" : "Inf");
    }

    [Theory]
    [InlineData("info")]
    [InlineData("eval")]
    [InlineData("generate")]
    public void CliRefusesNonFiniteWeights(string command)
    {
        var f = FormatHardeningModel.WithElement(FormatHardeningModel.Tiny(), "model.layers.2.self_attn.v_proj.weight", 77, double.NaN);
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["model.safetensors"] = f });
        Hardening.CliFails([command, "--model", dir, "--device", "cpu"], null, "model.safetensors", "model.layers.2.self_attn.v_proj.weight", "NaN");
    }

    [Theory]
    [InlineData("magnitude")]
    public void PruneOfANonFiniteModelWritesNothing(string method)
    {
        var f = FormatHardeningModel.WithElement(FormatHardeningModel.Tiny(), "model.layers.1.mlp.up_proj.weight", 5, double.PositiveInfinity);
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["model.safetensors"] = f });
        string outDir = scratch.NewPath("pruned");
        Hardening.CliFails(["prune", "--model", dir, "--method", method, "--pattern", "2:4", "--out", outDir, "--device", "cpu"], outDir,
            "model.layers.1.mlp.up_proj.weight", "Inf");
    }
}
