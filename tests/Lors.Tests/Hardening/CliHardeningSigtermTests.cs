// SIGTERM (what schedulers and `docker stop` send) during fine-tuning: the tool saves a checkpoint at the step boundary
// and exits with 130, like Ctrl-C, and --resume continues from it. Runs the tool as a child process (POSIX only).
using System.Diagnostics;
using System.Text.Json.Nodes;
using Lors.Train.Training;

namespace Lors.Tests.Hardening;

public sealed class PosixFactAttribute : FactAttribute
{
    public PosixFactAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = "SIGTERM is POSIX only";
    }
}

public sealed class CliHardeningSigtermTests
{
    [PosixFact]
    public void SigtermSavesACheckpointAndExits()
    {
        var dir = CliHardeningHarness.TempDir("sigterm");
        var data = CliHardeningHarness.SmallText(dir);
        var outDir = Path.Combine(dir, "run");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoPaths.Root };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "lors.dll"), "finetune", "--data", data, "--out", outDir, "--steps", "100000",
                     "--batch", "2", "--seq-len", "16", "--rank", "4", "--init", "lora", "--val-fraction", "0", "--device", "cpu", "--json" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var metrics = Path.Combine(outDir, "metrics.jsonl");
        var sw = Stopwatch.StartNew();
        while (!File.Exists(metrics) && !p.HasExited && sw.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(50);   // step 1 is logged
        Assert.True(File.Exists(metrics), $"no training step within 60 s: {(p.HasExited ? stderr.Result : "")}");
        Process.Start("kill", ["-TERM", p.Id.ToString()])!.WaitForExit();
        if (!p.WaitForExit(60_000)) { p.Kill(); Assert.Fail("the tool did not exit within 60 s of SIGTERM"); }
        Assert.True(p.ExitCode == 130, $"exit code {p.ExitCode}: {stderr.Result}");
        Assert.Contains("\"cancelled\":true", stdout.Result);
        var state = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(TrainingStateStore.PathIn(outDir), TrainingStateStore.StateFile)))!;
        Assert.True((int)state["step"]! >= 1);
    }
}
