// The `lors bench train --shape` table: each name gives the published architecture (hidden, intermediate, layers,
// heads, kv heads, vocab), and an unknown name is rejected with the list of known ones.
using Lors.Cli.Bench;

namespace Lors.Tests.Cli;

public sealed class TrainBenchShapeTests
{
    [Theory]
    [InlineData("tinyllama-1.1b", 2048, 5632, 22, 32, 4, 32000)]
    [InlineData("llama2-7b", 4096, 11008, 32, 32, 32, 32000)]
    [InlineData("llama2-13b", 5120, 13824, 40, 40, 40, 32000)]
    [InlineData("llama3-8b", 4096, 14336, 32, 32, 8, 128256)]
    [InlineData("llama2-70b", 8192, 28672, 80, 64, 8, 32000)]
    public void ShapesMatchThePublishedConfigs(string name, int h, int f, int layers, int heads, int kv, int vocab)
    {
        var c = TrainBench.Shape(name);
        Assert.Equal((h, f, layers, heads, kv, vocab), (c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.VocabSize));
    }

    [Fact]
    public void UnknownShapeListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => TrainBench.Shape("llama2-65b"));
        Assert.Contains("llama2-13b", e.Message);
    }
}

public sealed class LinearBenchTests
{
    [Fact]
    public void BenchLinearTimesEveryProjectionBesidePlainGemms()
    {
        var s = new Lors.Cli.Commands.BenchCommand.Settings { What = "linear", Shape = "tiny", SeqLen = 8, Steps = 1, Warmup = 0, DeviceName = "cpu", Layers = 2 };
        var r = LinearBench.Run(s);
        Assert.Equal(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], r.Rows.Select(x => x.Projection));
        Assert.Equal((688, 256), (r.Rows[4].Out, r.Rows[4].In));
        Assert.All(r.Rows, x => Assert.True(x.PlainMs > 0 && x.LorsMs > 0 && x.MaskedMs > 0 && x.MergeFusedMs > 0 && x.MergeUnfusedMs > 0, x.ToString()));
        Assert.Equal(2 * r.Rows.Sum(x => x.LorsMs), r.LorsStepMs, 9);
    }
}
