// `lors bench train --compressed-24 on` on the CPU at the tiny shape: the model is built layer by layer, pruned and
// compressed as each matrix is made, holds fewer bytes, and trains to the same losses as the dense path.
using Lors.Cli.Bench;
using Lors.Cli.Commands;

namespace Lors.Tests.Sparse;

public sealed class Compressed24BenchTests
{
    private static TrainBenchResult Bench(string mode, string method = "lors") => TrainBench.Run(new BenchCommand.Settings
    {
        What = "train", Shape = "tiny", Layers = 2, SeqLen = 32, Steps = 2, Warmup = 1, Compressed24 = mode, Method = method,
    });

    [Fact]
    public void CompressedBenchMatchesTheDenseLossesWithFewerBytes()
    {
        var dense = Bench("off");
        var comp = Bench("on");
        Assert.Equal("dense", dense.Weights);
        Assert.Equal("2:4 compressed", comp.Weights);
        Assert.Equal(dense.FirstLoss, comp.FirstLoss);
        Assert.Equal(dense.LastLoss, comp.LastLoss);
        Assert.True(comp.ModelBytes < dense.ModelBytes, $"{comp.ModelBytes} vs {dense.ModelBytes}");
        // auto stays dense on the CPU; a method that needs dense W' says so.
        Assert.Equal("dense", Bench("auto").Weights);
        Assert.Contains("needs --pattern 2:4 and --method lors", Bench("on", "masked").Weights);
    }
}
