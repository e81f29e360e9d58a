// `lors prune` and `lors bench prune` in-process: the per-phase timing and the engine in --json, the engine override
// (LORS_PRUNE_ENGINE), --compute-dtype, and the pruning benchmark at the tiny shape.
using Lors.Cli;

namespace Lors.Tests.Cli;

[Collection("Console")]
public sealed class PruneCliTests : IDisposable
{
    private readonly string _tmp = Path.Combine(Path.GetTempPath(), "lors-prune-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("LORS_PRUNE_ENGINE", null);
        if (Directory.Exists(_tmp)) Directory.Delete(_tmp, true);
    }

    private static (int rc, string stdout, string stderr) Run(params string[] args) => CliRunner.Run(args);

    [Theory]
    [InlineData(null, "host on cpu")]
    [InlineData("device", "device on cpu")]
    public void PruneReportsPhasesAndEngine(string? engine, string expected)
    {
        Directory.SetCurrentDirectory(RepoPaths.Root);
        Environment.SetEnvironmentVariable("LORS_PRUNE_ENGINE", engine);
        var (rc, stdout, stderr) = Run("prune", "--method", "wanda", "--pattern", "2:4", "--calib-samples", "2", "--seq-len", "32",
            "--device", "cpu", "--out", Path.Combine(_tmp, "w"), "--json");
        Assert.True(rc == 0, stderr);
        Assert.Contains($"\"engine\":\"{expected}\"", stdout);
        foreach (var phase in new[] { "load_s", "embed_s", "calibration_forward_s", "solve_s", "check_s", "save_s", "capture_s", "propagate_s" })
            Assert.Contains($"\"{phase}\":", stdout);
    }

    [Fact]
    public void BadEngineAndComputeDTypeAreOneLineErrors()
    {
        Directory.SetCurrentDirectory(RepoPaths.Root);
        var (rc, stdout, stderr) = Run("prune", "--method", "magnitude", "--pattern", "2:4", "--compute-dtype", "f16", "--out", Path.Combine(_tmp, "a"));
        Assert.NotEqual(0, rc);
        Assert.Contains("--compute-dtype", stderr + stdout);
        Environment.SetEnvironmentVariable("LORS_PRUNE_ENGINE", "gpu");
        (rc, stdout, stderr) = Run("prune", "--method", "magnitude", "--pattern", "2:4", "--out", Path.Combine(_tmp, "b"));
        Assert.NotEqual(0, rc);
        Assert.Contains("LORS_PRUNE_ENGINE", stderr + stdout);
        Assert.False(Directory.Exists(Path.Combine(_tmp, "b")));
    }

    [Fact]
    public void BenchPruneAtTheTinyShape()
    {
        var (rc, stdout, stderr) = Run("bench", "prune", "--shape", "tiny", "--layers", "2", "--method", "sparsegpt", "--pattern", "2:4",
            "--calib-samples", "2", "--seq-len", "32", "--device", "cpu", "--json");
        Assert.True(rc == 0, stderr);
        Assert.Contains("\"pattern_ok\":true", stdout);
        Assert.Contains("\"sparsity\":0.5", stdout);
        (rc, stdout, stderr) = Run("bench", "prune", "--shape", "tiny", "--device", "cpu");
        Assert.NotEqual(0, rc);
        Assert.Contains("--method", stderr + stdout);
    }
}
