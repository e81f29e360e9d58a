// Checkpoints damaged field by field (wrong type, out of range, missing), damaged files, and resumes with other settings:
// `finetune --resume` refuses each with the file and field (or the settings that differ), writes no adapter and leaves
// the checkpoint as it was.
using System.Text.Json.Nodes;
using Lors.Train.Training;

namespace Lors.Tests.Hardening;

/// <summary>One short fine-tuning run (2 steps, checkpoint at each) whose output folder each case copies and damages.</summary>
public sealed class CheckpointFixture
{
    public CheckpointFixture()
    {
        Dir = CliHardeningHarness.TempDir("ckpt");
        Data = CliHardeningHarness.SmallText(Dir);
        Run = Path.Combine(Dir, "run");
        var r = CliHardeningHarness.Run(Args(Run));
        if (r.ExitCode != 0) throw new InvalidOperationException($"fixture run failed: {r.Stderr}");
    }

    public string Dir { get; }
    public string Data { get; }
    public string Run { get; }

    public string[] Args(string outDir, params string[] extra) =>
        ["finetune", "--data", Data, "--out", outDir, "--steps", "2", "--batch", "2", "--seq-len", "16", "--rank", "4", "--init-samples", "2",
         "--checkpoint-every", "1", "--val-fraction", "0", "--device", "cpu", "--json", .. extra];

    /// <summary>The run's arguments with the values of the flags in <paramref name="overrides"/> replaced (or the flags added).</summary>
    public string[] ArgsWith(string outDir, string[] overrides)
    {
        var args = Args(outDir).ToList();
        for (int i = 0; i < overrides.Length; i++)
        {
            bool valued = i + 1 < overrides.Length && !overrides[i + 1].StartsWith("--");
            int at = args.IndexOf(overrides[i]);
            if (at >= 0 && valued) args[at + 1] = overrides[i + 1];
            else if (at < 0) args.AddRange(valued ? [overrides[i], overrides[i + 1]] : [overrides[i]]);
            if (valued) i++;
        }
        return args.ToArray();
    }

    /// <summary>A copy of the run without its adapter folder (so a refused resume is seen to write none).</summary>
    public string Copy(string tag)
    {
        var to = Path.Combine(Dir, tag + "-" + Guid.NewGuid().ToString("N")[..6]);
        foreach (var f in Directory.EnumerateFiles(Run, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(to, Path.GetRelativePath(Run, f));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(f, dest);
        }
        Directory.Delete(Path.Combine(to, "adapter"), recursive: true);
        return to;
    }
}

[Collection("Console")]
public sealed class CliHardeningCheckpointTests(CheckpointFixture fx) : IClassFixture<CheckpointFixture>
{
    private const string State = TrainingStateStore.StateFile;

    // (field, JSON literal or null to delete it, what the message must name besides the file and field)
    public static IEnumerable<object[]> FieldCases()
    {
        var cases = new (string Field, string?[] Values)[]
        {
            ("format_version", ["\"2\"", "1", "3", "-1", "2.5", "null", null]),
            ("step", ["\"abc\"", "1.5", "1000", "-1", "2147483647", "1e30", "null", "true", "[]", "{}", null]),
            ("optimizer_step", ["-100", "\"x\"", "1.5", "1", "3", "null", null]),
            ("epoch", ["-1", "\"x\"", "1.5", "2147483647", "null", null]),
            ("index", ["-5", "2147483647", "\"x\"", "1.5", "1", "0", "null", null]),
            ("rng_state", ["5", "\"xyz\"", "\"-1\"", "\"18446744073709551616\"", "\"\"", "\" 5\"", "null", "[]", null]),
            ("options_hash", ["5", "null", "[]", null]),
            ("elapsed_seconds", ["\"x\"", "-1", "null", null]),
            ("log_window", ["5", "null", "[]", null]),
            ("log_window.loss_sum", ["\"x\"", "null", null]),
            ("log_window.steps", ["-1", "1000", "1.5", "\"1\"", null]),
            ("run", ["5", "null", "[]", null]),
            ("run.rank", ["5", "null", "{}"]),
            ("parameters", ["\"x\"", "[1]", "[]", "null", "[\"model.a\"]", null]),
        };
        foreach (var (field, values) in cases)
            foreach (var v in values)
                yield return [field, v ?? "(missing)"];
    }

    [Theory]
    [MemberData(nameof(FieldCases))]
    public void DamagedFieldIsRefused(string field, string value)
    {
        var dir = fx.Copy("field");
        var path = Path.Combine(TrainingStateStore.PathIn(dir), State);
        var o = (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
        var parts = field.Split('.');
        var holder = parts.Length == 1 ? o : (JsonObject)o[parts[0]]!;
        if (value == "(missing)") holder.Remove(parts[^1]);
        else holder[parts[^1]] = JsonNode.Parse(value);
        File.WriteAllText(path, o.ToJsonString());
        // A field that names its own type or a mismatch (parameters, optimizer_step vs step) names the field it checks.
        string named = field == "run.rank" ? "run.rank" : field;
        Refused($"{field} = {value}", dir, [path, $"\"{named}\""]);
    }

    public static IEnumerable<object[]> FileCases() =>
        new[] { "not json", "", "[]", "{", "null", "\"text\"", "{\"format_version\": 2}" }.Select(t => new object[] { t });

    [Theory]
    [MemberData(nameof(FileCases))]
    public void DamagedStateFileIsRefused(string text)
    {
        var dir = fx.Copy("file");
        var path = Path.Combine(TrainingStateStore.PathIn(dir), State);
        File.WriteAllText(path, text);
        Refused($"trainer_state.json = '{text}'", dir, [path]);
    }

    public static IEnumerable<object[]> TensorCases() => new[] { "truncated", "header-only", "nan", "inf", "empty" }.Select(t => new object[] { t });

    [Theory]
    [MemberData(nameof(TensorCases))]
    public void DamagedTensorFileIsRefused(string kind)
    {
        var dir = fx.Copy("tensors");
        var path = Path.Combine(TrainingStateStore.PathIn(dir), TrainingStateStore.TensorsFile);
        var bytes = File.ReadAllBytes(path);
        long headerLen = BitConverter.ToInt64(bytes, 0);
        bytes = kind switch
        {
            "truncated" => bytes[..(bytes.Length / 2)],
            "header-only" => bytes[..(int)(8 + headerLen)],
            "empty" => [],
            _ => bytes,
        };
        if (kind is "nan" or "inf")   // the last element of the data section (the last tensor written)
            BitConverter.GetBytes(kind == "nan" ? float.NaN : float.PositiveInfinity).CopyTo(bytes, bytes.Length - 4);
        File.WriteAllBytes(path, bytes);
        Refused($"state.safetensors {kind}", dir, [TrainingStateStore.TensorsFile]);
    }

    public static IEnumerable<object[]> SettingCases() => new (string[] Args, string Key)[]
    {
        (["--rank", "8"], "rank"), (["--alpha", "3"], "alpha"), (["--method", "lora"], "method"), (["--method", "masked"], "method"),
        (["--lr", "0.01"], "lr"), (["--seed", "7"], "seed"), (["--batch", "4"], "batch"), (["--seq-len", "32"], "seq"),
        (["--init", "lora"], "init"), (["--targets", "q,v"], "targets"), (["--max-examples", "20"], "max_examples"),
        (["--steps", "3"], "steps"), (["--grad-accum", "2"], "accum"), (["--weight-decay", "0.1"], "wd"), (["--clip", "0.5"], "clip"),
        (["--warmup", "1"], "warmup"), (["--min-lr-ratio", "0.5"], "minlr"), (["--lors-gradient", "exact-masked"], "lors_gradient"),
        (["--val-fraction", "0.1"], "val_fraction"), (["--model", "COPY"], "model"), (["--data", "OTHER"], "data"),
    }.Select(c => new object[] { c.Args, c.Key });

    [Theory]
    [MemberData(nameof(SettingCases))]
    public void ResumeWithOtherSettingsIsRefusedAndListed(string[] extra, string key)
    {
        var dir = fx.Copy("settings");
        var args = extra.ToArray();
        if (args[^1] == "COPY")
        {
            args[^1] = Path.Combine(dir, "model-copy");
            Directory.CreateDirectory(args[^1]);
            foreach (var f in Directory.GetFiles(RepoPaths.TinyModel)) File.Copy(f, Path.Combine(args[^1], Path.GetFileName(f)));
        }
        if (args[^1] == "OTHER")
        {
            args[^1] = Path.Combine(dir, "other.txt");
            File.WriteAllText(args[^1], File.ReadAllText(fx.Data) + "One more line.\n");
        }
        Refused($"resume with {string.Join(' ', extra)}", dir, [State, "other settings", key + " "], [.. fx.ArgsWith(dir, args), "--resume"]);
    }

    [Fact]
    public void TheUndamagedCopyResumes()
    {
        var dir = fx.Copy("control");
        var r = CliHardeningHarness.Run([.. fx.Args(dir), "--resume"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(File.Exists(Path.Combine(dir, "adapter", "adapter_model.safetensors")));
    }

    [Fact]
    public void AFreshRunIntoTheFolderIsRefusedAndOverwriteStartsOver()
    {
        var dir = fx.Copy("fresh");
        var metrics = File.ReadAllText(Path.Combine(dir, "metrics.jsonl"));
        CliHardeningHarness.Refused(new BadCase("fresh run into a used --out", fx.Args(dir), ["--out", dir, "--resume", "--overwrite"]));
        Assert.Equal(metrics, File.ReadAllText(Path.Combine(dir, "metrics.jsonl")));
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine");
        var r = CliHardeningHarness.Run([.. fx.Args(dir), "--overwrite"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(metrics.Split('\n').Length, File.ReadAllText(Path.Combine(dir, "metrics.jsonl")).Split('\n').Length);   // not appended
        Assert.Equal("mine", File.ReadAllText(Path.Combine(dir, "notes.txt")));                                                // not ours: kept
    }

    /// <summary>Runs the resume and checks the refusal, that no adapter appeared and that the checkpoint is untouched.</summary>
    private void Refused(string name, string dir, string[] mentions, string[]? args = null)
    {
        var ck = TrainingStateStore.PathIn(dir);
        var before = Directory.GetFiles(ck).ToDictionary(f => f, File.ReadAllBytes);
        CliHardeningHarness.Refused(new BadCase(name, args ?? [.. fx.Args(dir), "--resume"], mentions, [Path.Combine(dir, "adapter")]));
        foreach (var (f, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(f)), $"{name}: {f} was changed");
    }
}
