// Kill and resume on the CPU: a fine-tuning run is killed at named points of the checkpoint writer (an exception thrown
// there stands for kill -9 at that moment), then resumed (or, with no checkpoint yet, restarted with --overwrite); the
// adapter file and the logged losses must be bit-identical to an uninterrupted run's.
using System.Text.Json.Nodes;
using Lors.Train.Training;

namespace Lors.Tests.Hardening;

[Collection("Console")]
public sealed class CliHardeningKillResumeTests
{
    private sealed class SimulatedKill(string point) : Exception($"simulated kill at {point}");

    private static string[] Args(string data, string outDir, params string[] extra) =>
        ["finetune", "--data", data, "--out", outDir, "--steps", "4", "--batch", "2", "--seq-len", "16", "--rank", "4", "--init-samples", "2",
         "--checkpoint-every", "1", "--val-fraction", "0", "--device", "cpu", "--json", .. extra];

    private static string Adapter(string outDir) => Path.Combine(outDir, "adapter", "adapter_model.safetensors");

    /// <summary>(step, loss, lr, grad_norm) of every metrics line: what an uninterrupted run logs.</summary>
    private static List<string> Losses(string outDir) =>
        File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl")).Select(l => (JsonObject)JsonNode.Parse(l)!)
            .Select(o => $"{o["step"]} {o["loss"]?.ToJsonString()} {o["lr"]?.ToJsonString()} {o["grad_norm"]?.ToJsonString()}").ToList();

    [Fact]
    public void KilledAtEveryCheckpointStageResumesBitIdentically()
    {
        var dir = CliHardeningHarness.TempDir("kill");
        var data = CliHardeningHarness.SmallText(dir);
        var baseline = Path.Combine(dir, "baseline");
        var r = CliHardeningHarness.Run(Args(data, baseline));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var want = File.ReadAllBytes(Adapter(baseline));
        var wantLosses = Losses(baseline);
        Assert.Equal(2, wantLosses.Count);                                   // steps 1 and 4: the second is a mean over 2..4

        // (point, which call of it): checkpoints are written after steps 1, 2, 3 and at the end (4).
        var kills = new (string Point, int Call, bool HasCheckpoint)[]
        {
            ("tensors-written", 1, false),      // inside the first checkpoint: nothing to resume, start over
            ("tensors-written", 2, true),       // inside the second: resume from step 1
            ("state-written", 3, true),         // tmp/ complete but not swapped in: resume from step 2
            ("final-moved-to-old", 2, true),    // between the renames: only checkpoint.old/ is whole
            ("tmp-moved-to-final", 3, true),    // swapped but checkpoint.old/ not yet deleted: it is cleaned up
            ("tmp-moved-to-final", 4, true),    // the final checkpoint, after the adapters were written
        };
        foreach (var (point, call, hasCheckpoint) in kills)
        {
            var outDir = Path.Combine(dir, $"{point}-{call}");
            int seen = 0;
            TrainingStateStore.FaultHook = p => { if (p == point && ++seen == call) throw new SimulatedKill(p); };
            try { r = CliHardeningHarness.Run(Args(data, outDir)); }
            finally { TrainingStateStore.FaultHook = null; }
            Assert.True(r.ExitCode != 0 && r.Stderr.Contains("simulated kill"), $"{point} #{call}: the kill did not happen: {r.Stderr}");

            r = CliHardeningHarness.Run(Args(data, outDir, hasCheckpoint ? "--resume" : "--overwrite"));
            Assert.True(r.ExitCode == 0, $"{point} #{call}: {r.Stderr}");
            Assert.True(want.AsSpan().SequenceEqual(File.ReadAllBytes(Adapter(outDir))), $"{point} #{call}: the resumed adapters differ");
            Assert.Equal(wantLosses, Losses(outDir));
            var ck = TrainingStateStore.PathIn(outDir);
            Assert.False(Directory.Exists(ck + ".old"), $"{point} #{call}: checkpoint.old/ left behind");
            Assert.False(Directory.Exists(ck + ".tmp"), $"{point} #{call}: checkpoint.tmp/ left behind");
        }
    }
}
