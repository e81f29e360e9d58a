// The `lors` tool in-process: bad input ends with a one-line error naming the argument, file or tensor and a
// non-zero exit code; the main commands run on the embedded model with --json.
using Lors.Cli;

namespace Lors.Tests.Cli;

[Collection("Console")]
public sealed class CliTests : IDisposable
{
    private readonly string _tmp = Path.Combine(Path.GetTempPath(), "lors-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_tmp)) Directory.Delete(_tmp, true);
    }

    private static (int rc, string stdout, string stderr) Run(params string[] args) => CliRunner.Run(args);

    [Theory]
    [InlineData("prune --sparsity 1.5 --out /tmp/x", "--sparsity")]
    [InlineData("prune --sparsity 0.5 --pattern 2:4 --out /tmp/x", "either --sparsity or --pattern")]
    [InlineData("prune --pattern 3:7 --out /tmp/lors-never", "7")]
    [InlineData("eval --model /nonexistent/model", "/nonexistent/model")]
    [InlineData("eval --text /nonexistent.txt", "/nonexistent.txt")]
    [InlineData("finetune --data data/brown/brown.valid.txt --out /tmp/x --method dora", "dora")]
    [InlineData("finetune --data data/brown/brown.valid.txt --out /tmp/lors-never --lors-gradient exact-ish", "--lors-gradient")]
    [InlineData("generate --max-new-tokens 0", "--max-new-tokens")]
    [InlineData("merge --model models/tiny-llama-brown --adapter /nonexistent --out /tmp/lors-never", "adapter_config.json")]
    [InlineData("eval --device cuda --max-windows 1", "cuda")]
    public void BadInputIsAOneLineErrorAndANonZeroExit(string args, string mentioned)
    {
        Directory.SetCurrentDirectory(RepoPaths.Root);
        var (rc, stdout, stderr) = Run(args.Split(' '));
        Assert.NotEqual(0, rc);
        Assert.Contains(mentioned, stderr + stdout);
    }

    [Fact]
    public void FinetuneHelpNamesTheDefaultLorsGradient()
    {
        // --help prints the option's [Description] (through Spectre's console, which a test cannot redirect).
        var prop = typeof(Lors.Cli.Commands.FinetuneCommand.Settings).GetProperty("LorsGradient")!;
        var option = prop.GetCustomAttributes(typeof(Spectre.Console.Cli.CommandOptionAttribute), false).Cast<Spectre.Console.Cli.CommandOptionAttribute>().Single();
        Assert.Equal(["lors-gradient"], option.LongNames);
        var help = prop.GetCustomAttributes(typeof(System.ComponentModel.DescriptionAttribute), false).Cast<System.ComponentModel.DescriptionAttribute>().Single().Description;
        Assert.Contains("low-rank (default: the authors' gradient", help);
        Assert.Equal("low-rank", new Lors.Cli.Commands.FinetuneCommand.Settings().LorsGradient);
        Assert.Equal(Lors.Train.Adapters.LorsGradient.LowRank, new Lors.Train.Adapters.AdapterConfig().Gradient);
    }

    [Fact]
    public void ExistingOutputFolderIsRefusedWithoutForce()
    {
        Directory.SetCurrentDirectory(RepoPaths.Root);
        Directory.CreateDirectory(_tmp);
        var (rc, _, stderr) = Run("prune", "--method", "magnitude", "--pattern", "2:4", "--out", _tmp);
        Assert.Equal(1, rc);
        Assert.Contains("--force", stderr);
        Assert.Empty(Directory.GetFileSystemEntries(_tmp));
    }

    [Fact]
    public void PruneInfoAndEvalWithJson()
    {
        Directory.SetCurrentDirectory(RepoPaths.Root);
        var outDir = Path.Combine(_tmp, "pruned");
        var (rc, stdout, stderr) = Run("prune", "--method", "magnitude", "--pattern", "2:4", "--out", outDir, "--json");
        Assert.True(rc == 0, stderr);
        Assert.Contains("\"sparsity\":0.5", stdout);
        (rc, stdout, stderr) = Run("info", "--model", outDir, "--json");
        Assert.True(rc == 0, stderr);
        Assert.Contains("\"pattern\":\"2:4\"", stdout);
        (rc, stdout, stderr) = Run("eval", "--model", outDir, "--max-windows", "2", "--json");
        Assert.True(rc == 0, stderr);
        Assert.Contains("\"windows\":2", stdout);
        (rc, stdout, _) = Run("tokenize", "--text", "Hello world!", "--json");
        Assert.Equal(0, rc);
        Assert.Contains("\"ids\":[0,748,301,81,863,3]", stdout);
    }
}
