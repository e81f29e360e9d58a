// RoPE against transformers 5.17 itself: Data/rope_hf_reference.json holds HF's float32 inv_freq and
// cos/sin bit patterns (made by Data/gen_rope_reference.py on the CPU, and on CUDA for comparison).
using System.Text.Json;
using Lors.Models.Formats;
using Lors.Models.Llama;

namespace Lors.Tests.Formats;

public class RopeHfReferenceTests
{
    private static readonly Lazy<JsonElement> Reference = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(FmtPaths.RepoRoot, "tests", "Lors.Tests", "Formats", "Data", "rope_hf_reference.json"))).RootElement);

    public static TheoryData<string> Cases => new() { "tiny_default", "tiny_linear3", "hd64_linear2_5", "llama31", "llama32_f32" };

    private static LlamaConfig ConfigFor(JsonElement c)
    {
        int hd = c.GetProperty("head_dim").GetInt32();
        string json = $$"""
            {"vocab_size":1000,"hidden_size":{{hd * 8}},"intermediate_size":64,"num_hidden_layers":1,
             "num_attention_heads":8,"head_dim":{{hd}},"max_position_embeddings":131072,
             "rope_parameters":{{c.GetProperty("rope").GetRawText()}}}
            """;
        return LlamaConfig.Parse(json, "reference");
    }

    private static float[] Floats(JsonElement cpu, string name) =>
        cpu.GetProperty(name).EnumerateArray().Select(x => BitConverter.UInt32BitsToSingle(x.GetUInt32())).ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void InverseFrequenciesAreBitExactWithHfOnCpu(string name)
    {
        var c = Reference.Value.GetProperty("cases").GetProperty(name);
        var cfg = ConfigFor(c);
        float[] expected = Floats(c.GetProperty("cpu"), "inv_freq");
        double[] actual = Rope.InverseFrequencies(cfg);
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(expected[i] == (float)actual[i], $"{name} inv_freq[{i}]: HF {expected[i]:R}, LoRS {(float)actual[i]:R}");
        Assert.Equal((float)c.GetProperty("cpu").GetProperty("attention_scaling").GetDouble(), Rope.AttentionScaling(cfg));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CosSinMatchHfWithinOneUlp(string name)
    {
        var c = Reference.Value.GetProperty("cases").GetProperty(name);
        var cfg = ConfigFor(c);
        int[] positions = Reference.Value.GetProperty("positions").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var cos = new float[positions.Length * cfg.HeadDim];
        var sin = new float[cos.Length];
        Rope.CosSin(cfg, positions, cos, sin);
        // The arguments are bit-identical (same inv_freq, same float32 product); cos/sin themselves may
        // differ in the last place because PyTorch's vectorised sin/cos and the C runtime's are
        // different approximations (both within about 1 ulp).
        Check(Floats(c.GetProperty("cpu"), "cos"), cos, name + " cos");
        Check(Floats(c.GetProperty("cpu"), "sin"), sin, name + " sin");
    }

    private static void Check(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float tol = Math.Max(MathF.BitIncrement(MathF.Abs(expected[i])) - MathF.Abs(expected[i]), 1e-37f);
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= tol, $"{what}[{i}]: HF {expected[i]:R}, LoRS {actual[i]:R}");
        }
    }
}
