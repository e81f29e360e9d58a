// Every option of every command given a malformed value, every option misspelt, unknown options and stray arguments:
// each is refused before any work with a short error naming the flag (and the closest valid option for a typo).
using Lors.Cli;

namespace Lors.Tests.Hardening;

[Collection("Console")]
public sealed class CliHardeningOptionsTests
{
    private static readonly string Never = Path.Combine(Path.GetTempPath(), "lors-hardening-never-written");

    // Minimal arguments that make each command otherwise valid (so the failure is the option under test).
    private static readonly Dictionary<string, string[]> Base = new()
    {
        ["demo"] = ["--out", Never], ["prune"] = ["--out", Never], ["finetune"] = ["--data", "data/brown/brown.valid.txt", "--out", Never],
        ["eval"] = [], ["generate"] = [], ["merge"] = ["--model", "models/tiny-llama-brown", "--adapter", Never, "--out", Never],
        ["tokenize"] = ["--text", "hi"], ["info"] = [], ["bench"] = ["train"], ["selftest"] = [],
    };

    private const string NotInt = "abc", Frac = "1.5", Huge = "99999999999";

    // (command, flag, bad values): integers that must be positive / non-negative, numbers that must be finite and in range,
    // names from a fixed list, and pattern or device parsers.
    private static readonly (string Cmd, string Flag, string[] Values)[] Table =
    [
        .. Ints("demo", ["--steps", "--batch", "--rank", "--eval-windows", "--calib-samples"], "0", "-1"),
        ("demo", "--seq-len", ["1", "0", NotInt]), ("demo", "--lr", ["0", "-1", "NaN", "Infinity", NotInt]), ("demo", "--method", ["dora", ""]),
        ("demo", "--seed", ["-1", "x"]),
        .. Ints("prune", ["--calib-samples", "--seq-len"], "0", "-1"),
        ("prune", "--sparsity", ["0", "1", "1.5", "-0.1", "NaN", "Infinity", NotInt]), ("prune", "--method", ["foo", "wandaa"]),
        ("prune", "--pattern", ["3", "2:3:4", "x:4", "0:4", "4:2", "-2:4"]), ("prune", "--seed", ["-1", "1e3"]), ("prune", "--model", [""]),
        .. Ints("finetune", ["--rank", "--init-samples", "--batch", "--grad-accum", "--max-examples"], "0", "-1"),
        .. Ints("finetune", ["--warmup", "--steps", "--eval-every", "--eval-batches", "--checkpoint-every"], "-1"),
        ("finetune", "--seq-len", ["1", "0", "-5", NotInt]), ("finetune", "--alpha", ["0", "-1", "NaN", "Infinity", NotInt]),
        ("finetune", "--lr", ["0", "-1e-3", "NaN", "-Infinity", NotInt]), ("finetune", "--weight-decay", ["-0.1", "NaN", NotInt]),
        ("finetune", "--min-lr-ratio", ["-0.1", "1.5", "NaN"]), ("finetune", "--clip", ["-1", "NaN", "Infinity"]),
        ("finetune", "--epochs", ["0", "-1", "NaN", "Infinity"]), ("finetune", "--val-fraction", ["-0.1", "1", "1.5", "NaN", "Infinity"]),
        ("finetune", "--method", ["dora", "LoRS2"]), ("finetune", "--format", ["csv", "jsonl"]), ("finetune", "--init", ["foo", "svd"]),
        ("finetune", "--targets", ["q,x", ",", "attn"]), ("finetune", "--seed", ["-1", NotInt]), ("finetune", "--data", [""]),
        .. Ints("eval", ["--seq-len", "--batch", "--max-windows"], "0", "-1"),
        ("eval", "--model", [""]), ("eval", "--text", [""]),
        ("generate", "--max-new-tokens", ["0", "-1", NotInt, Frac, Huge]), ("generate", "--temperature", ["-1", "NaN", "Infinity", NotInt]),
        ("generate", "--top-k", ["-1", NotInt, Frac]), ("generate", "--top-p", ["0", "-0.5", "1.5", "NaN", "Infinity"]), ("generate", "--seed", ["-1"]),
        ("merge", "--out", [""]), ("tokenize", "--file", [""]),
        .. Ints("bench", ["--seq-len", "--batch", "--rank", "--steps", "--layers"], "0", "-1"),
        .. Ints("bench", ["--calib-samples", "--items", "--choices", "--batch-tokens"], "0", "-1"),
        ("demo", "--clip", ["-1", "NaN", "Infinity", NotInt]), ("prune", "--compute-dtype", ["f64", "half"]),
        ("finetune", "--lors-gradient", ["exact", "lowrank", "masked"]),
        ("bench", "--warmup", ["-1", NotInt]), ("bench", "--shape", ["gpt2"]), ("bench", "--method", ["dora"]), ("bench", "--pattern", ["5:4"]),
        .. new[] { "finetune", "eval", "generate", "bench" }.Select(c => (c, "--compressed-24", new[] { "yes", "", "2:4" })),
        .. Commands().Select(c => (c, "--device", new[] { "gpu", "cuda:-1", "cuda:x", "" })),
    ];

    private static IEnumerable<(string, string, string[])> Ints(string cmd, string[] flags, params string[] bad) =>
        flags.Select(f => (cmd, f, bad.Concat([NotInt, Frac, Huge]).ToArray()));

    private static IEnumerable<string> Commands() => LorsApp.SettingsTypes.Keys;

    public static IEnumerable<object[]> BadValues() =>
        Table.SelectMany(t => t.Values.Select(v => new object[]
        {
            new BadCase($"{t.Cmd} {t.Flag} '{v}'", [t.Cmd, .. Base[t.Cmd], t.Flag, v], [t.Flag], [Never]),
        }));

    /// <summary>Each option of each command with one letter dropped: refused, naming the option meant.</summary>
    public static IEnumerable<object[]> Misspelt() =>
        Commands().SelectMany(cmd => LorsApp.OptionsOf(cmd).Where(o => o.Length > 5).Select(o =>
        {
            string typo = o[..4] + o[5..];   // "--seq-len" -> "--se-len"
            return new object[] { new BadCase($"{cmd} {typo}", [cmd, .. Base[cmd], typo, "1"], [typo, o], [Never]) };
        }));

    public static IEnumerable<object[]> Other()
    {
        foreach (var cmd in Commands())
        {
            yield return [new BadCase($"{cmd} --frobnicate", [cmd, .. Base[cmd], "--frobnicate"], ["--frobnicate", cmd], [Never])];
            yield return [new BadCase($"{cmd} stray argument", [cmd, .. Base[cmd], "--json", "3"], ["'3'"], [Never])];
            yield return [new BadCase($"{cmd} --json=yes", [cmd, .. Base[cmd], "--json=yes"], ["--json"], [Never])];
        }
        yield return [new BadCase("--frobnicate alone", ["--frobnicate"], ["--frobnicate"])];
        yield return [new BadCase("unknown command", ["evl"], ["evl", "eval"])];
        yield return [new BadCase("eval --sede 5", ["eval", "--sede", "5"], ["--sede", "--seq-len"])];
        yield return [new BadCase("eval --seq-len without value", ["eval", "--seq-len"], ["--seq-len"])];
        yield return [new BadCase("generate --prompt without value", ["generate", "--prompt", "--seed", "1"], ["--prompt"])];
        yield return [new BadCase("prune --sparsity and --pattern", ["prune", "--out", Never, "--sparsity", "0.5", "--pattern", "2:4"], ["--sparsity", "--pattern"], [Never])];
        yield return [new BadCase("prune without --out", ["prune"], ["--out"])];
        yield return [new BadCase("finetune without --data", ["finetune", "--out", Never], ["--data"], [Never])];
        yield return [new BadCase("finetune without --out", ["finetune", "--data", "data/brown/brown.valid.txt"], ["--out"])];
        yield return [new BadCase("finetune --resume --overwrite", [.. FT(), "--resume", "--overwrite"], ["--resume", "--overwrite"], [Never])];
        yield return [new BadCase("finetune --packing with text", [.. FT(), "--format", "text", "--packing"], ["--packing"], [Never])];
        yield return [new BadCase("merge without --adapter", ["merge", "--model", "x", "--out", Never], ["--adapter"], [Never])];
        yield return [new BadCase("tokenize --text and --file", ["tokenize", "--text", "a", "--file", "b"], ["--text", "--file"])];
        yield return [new BadCase("bench unknown benchmark", ["bench", "infer"], ["infer", "train"])];
        // Values checked against the model once it is loaded: still named by their flag.
        yield return [new BadCase("eval --seq-len past the model's positions", ["eval", "--seq-len", "100000", "--max-windows", "1"], ["100000"])];
        yield return [new BadCase("finetune --seq-len past the model's positions", [.. FT(), "--seq-len", "100000"], ["--seq-len", "100000"], [Never])];
        var longPrompt = string.Concat(Enumerable.Repeat("the jury said ", 400));
        yield return [new BadCase("generate prompt longer than the positions", ["generate", "--prompt", longPrompt, "--max-new-tokens", "1"], ["--prompt", "positions"])];
        yield return [new BadCase("eval --model missing", ["eval", "--model", "/nonexistent/model"], ["/nonexistent/model"])];
        yield return [new BadCase("eval --text missing", ["eval", "--text", "/nonexistent.txt"], ["--text", "/nonexistent.txt"])];
        yield return [new BadCase("tokenize --file missing", ["tokenize", "--file", "/nonexistent.txt"], ["--file", "/nonexistent.txt"])];
        yield return [new BadCase("finetune --data missing", ["finetune", "--data", "/nonexistent.txt", "--out", Never], ["/nonexistent.txt"], [Never])];
        yield return [new BadCase("prune --calib-text missing", ["prune", "--method", "wanda", "--calib-text", "/nonexistent.txt", "--out", Never], ["--calib-text", "/nonexistent.txt"], [Never])];
    }

    private static string[] FT() => ["finetune", "--data", "data/brown/brown.valid.txt", "--out", Never];

    [Theory]
    [MemberData(nameof(BadValues))]
    public void BadOptionValueIsRefused(BadCase c) => CliHardeningHarness.Refused(c);

    [Theory]
    [MemberData(nameof(Misspelt))]
    public void MisspeltOptionNamesTheClosest(BadCase c)
    {
        var error = CliHardeningHarness.Refused(c);
        Assert.Contains("did you mean", error);
    }

    [Theory]
    [MemberData(nameof(Other))]
    public void OtherMisuseIsRefused(BadCase c) => CliHardeningHarness.Refused(c);

    [Fact]
    public void TheSuiteCoversEveryOptionOfEveryCommand()
    {
        var covered = Table.Select(t => (t.Cmd, t.Flag)).ToHashSet();
        var valued = new[] { "--json", "--force", "--resume", "--overwrite", "--packing", "--exact-gradient", "--checkpoint-layers", "--profile",
            "--no-special", "--no-share", "--bench", "--no-model", "--filter", "--tokenizer", "--text", "--prompt", "--model", "--adapter", "--out", "--calib-text" };
        var missing = Commands().SelectMany(cmd => LorsApp.OptionsOf(cmd).Select(flag => (cmd, flag)))
            .Where(x => !covered.Contains(x) && !valued.Contains(x.flag)).Select(x => $"{x.cmd} {x.flag}").ToList();
        Assert.True(missing.Count == 0, $"no malformed-value case for: {string.Join(", ", missing)}");
    }
}
