// `lors eval-tasks` and `lors bench eval-tasks` in-process: JSON output on the fixtures, bad input as a one-line error.
using System.Text.Json;
using Lors.Cli;

namespace Lors.Tests.Evaluation;

[Collection("Console")]
public sealed class EvalTasksCliTests
{
    private static (int rc, string stdout, string stderr) Run(params string[] args)
    {
        Directory.SetCurrentDirectory(RepoPaths.Root);
        return Lors.Tests.Cli.CliRunner.Run(args);
    }

    [Fact]
    public void JsonHasEachTaskAndTheMean()
    {
        var (rc, stdout, stderr) = Run("eval-tasks", "--data", "tests/fixtures/zeroshot", "--tasks", "boolq,piqa,winogrande", "--limit", "2", "--device", "cpu", "--json");
        Assert.True(rc == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var tasks = doc.RootElement.GetProperty("tasks");
        var accs = new[] { "boolq", "piqa", "winogrande" }.Select(t =>
        {
            Assert.Equal(2, tasks.GetProperty(t).GetProperty("docs").GetInt32());
            return tasks.GetProperty(t).GetProperty("acc").GetDouble();
        }).ToList();
        Assert.Equal(accs.Average(), doc.RootElement.GetProperty("mean_acc").GetDouble(), 12);
        Assert.Equal(JsonValueKind.Null, tasks.GetProperty("boolq").GetProperty("acc_norm").ValueKind);
        Assert.Equal(JsonValueKind.Number, tasks.GetProperty("piqa").GetProperty("acc_norm").ValueKind);
    }

    [Fact]
    public void SamplesHoldEachDocumentsLogLikelihoods()
    {
        var file = Path.Combine(Path.GetTempPath(), "lors-zs-samples-" + Guid.NewGuid().ToString("N")[..8] + ".jsonl");
        try
        {
            var (rc, _, stderr) = Run("eval-tasks", "--data", "tests/fixtures/zeroshot", "--tasks", "hellaswag,rte", "--device", "cpu", "--dtype", "f32", "--json", "--samples", file);
            Assert.True(rc == 0, stderr);
            var lines = File.ReadAllLines(file).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(6, lines.Count);
            Assert.Equal(["hellaswag", "hellaswag", "hellaswag", "rte", "rte", "rte"], lines.Select(l => l.GetProperty("task").GetString()));
            Assert.All(lines.Take(3), l => Assert.Equal(4, l.GetProperty("loglikelihoods").GetArrayLength()));
            Assert.All(lines, l => Assert.All(l.GetProperty("loglikelihoods").EnumerateArray(), x => Assert.True(x.GetDouble() < 0)));
        }
        finally { File.Delete(file); }
    }

    [Theory]
    [InlineData("eval-tasks --data tests/fixtures/zeroshot --dtype f16", "--dtype")]
    [InlineData("eval-tasks --data /nonexistent/zs", "/nonexistent/zs")]
    [InlineData("eval-tasks --data tests/fixtures/zeroshot --tasks boolq,mmlu", "mmlu")]
    [InlineData("eval-tasks --data tests/fixtures --tasks rte", "rte/validation")]
    [InlineData("eval-tasks --data tests/fixtures/zeroshot --limit 0", "--limit")]
    [InlineData("eval-tasks --tasks boolq", "--data")]
    [InlineData("bench eval-tasks --shape tiny --items 0 --device cpu", "--items")]
    public void BadInputIsAOneLineError(string args, string mentioned)
    {
        var (rc, stdout, stderr) = Run(args.Split(' '));
        Assert.NotEqual(0, rc);
        Assert.Contains(mentioned, stderr + stdout);
    }

    [Fact]
    public void BenchSharesContexts()
    {
        var (rc, stdout, stderr) = Run("bench", "eval-tasks", "--shape", "tiny", "--layers", "1", "--items", "12", "--device", "cpu", "--json");
        Assert.True(rc == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        Assert.Equal(48, r.GetProperty("requests").GetInt32());
        // Each context runs once instead of four times: fewer forward tokens than the requests hold.
        Assert.True(r.GetProperty("forward_tokens").GetInt64() < r.GetProperty("request_tokens").GetInt64(), stdout);
    }
}
