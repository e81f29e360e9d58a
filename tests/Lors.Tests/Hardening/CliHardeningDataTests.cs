// Malformed data files through every command that reads text (finetune --data as text and as Alpaca, eval --text,
// prune --calib-text, tokenize --file and standard input): refused with the file and what was found.
using System.Text;

namespace Lors.Tests.Hardening;

[Collection("Console")]
public sealed class CliHardeningDataTests
{
    private static readonly string Dir = CliHardeningHarness.TempDir("data");

    /// <summary>(name, bytes, what the message must say was found). Each is written as .txt and as .jsonl.</summary>
    private static IEnumerable<(string Name, byte[] Bytes, string Found)> Kinds()
    {
        var rng = new Random(5);
        var random = new byte[4096];
        rng.NextBytes(random);
        for (int i = 0; i < random.Length; i++) if (random[i] == 0) random[i] = 0xFF;   // NUL has its own case
        yield return ("random-bytes", random, "UTF-8");
        var withNul = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("The jury said it did find. ", 40)));
        withNul[100] = 0;
        yield return ("nul-byte", withNul, "NUL");
        yield return ("all-nul", new byte[2048], "NUL");
        yield return ("utf16", Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("The jury said it did find.")).ToArray(), "NUL");
        yield return ("whitespace", Encoding.UTF8.GetBytes(" \n\t\r\n   \n"), "whitespace");
        yield return ("empty", [], "empty");
        yield return ("latin1", Encoding.Latin1.GetBytes(string.Concat(Enumerable.Repeat("Un café très naïve à Zürich. ", 60))), "UTF-8");
        yield return ("truncated-utf8", [.. Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("euro sign ", 60))), 0xE2, 0x82], "UTF-8");
        yield return ("overlong", [.. Encoding.UTF8.GetBytes("slash "), 0xC0, 0xAF, .. Encoding.UTF8.GetBytes(" more text")], "UTF-8");
        yield return ("surrogate", [.. Encoding.UTF8.GetBytes("half "), 0xED, 0xA0, 0x80, .. Encoding.UTF8.GetBytes(" a pair")], "UTF-8");
    }

    private static string Write(string name, byte[] bytes)
    {
        var p = Path.Combine(Dir, name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    public static IEnumerable<object[]> Cases()
    {
        foreach (var (name, bytes, found) in Kinds())
        {
            string txt = Write(name + ".txt", bytes), jsonl = Write(name + ".jsonl", bytes);
            string Out(string tag) => Path.Combine(Dir, $"out-{tag}-{name}");
            yield return [new BadCase($"finetune --data {name}.txt", ["finetune", "--data", txt, "--out", Out("ft"), "--device", "cpu"], ["--data", txt, found], [Out("ft")])];
            yield return [new BadCase($"finetune --data {name}.jsonl", ["finetune", "--data", jsonl, "--out", Out("fa"), "--device", "cpu"], ["--data", jsonl, found], [Out("fa")])];
            yield return [new BadCase($"eval --text {name}", ["eval", "--text", txt, "--device", "cpu"], ["--text", txt, found])];
            yield return [new BadCase($"prune --calib-text {name}", ["prune", "--method", "wanda", "--pattern", "2:4", "--calib-text", txt, "--calib-samples", "2", "--seq-len", "16", "--out", Out("pr"), "--device", "cpu"], ["--calib-text", txt, found], [Out("pr")])];
            yield return [new BadCase($"tokenize --file {name}", ["tokenize", "--file", txt], ["--file", txt, found])];
        }
        // Valid text, but too short for what the command needs: the count found and the length needed are named.
        var tiny = Write("tiny.txt", Encoding.UTF8.GetBytes("The jury said."));
        yield return [new BadCase("finetune: fewer tokens than one block", ["finetune", "--data", tiny, "--out", Path.Combine(Dir, "out-tiny"), "--seq-len", "64", "--device", "cpu"], ["--data", tiny, "tokens", "64"], [Path.Combine(Dir, "out-tiny")])];
        yield return [new BadCase("eval: fewer tokens than one window", ["eval", "--text", tiny, "--seq-len", "64", "--device", "cpu"], ["--text", tiny, "tokens", "65"])];
        yield return [new BadCase("prune: fewer tokens than the calibration needs", ["prune", "--method", "wanda", "--pattern", "2:4", "--calib-text", tiny, "--calib-samples", "4", "--seq-len", "16", "--out", Path.Combine(Dir, "out-tiny-pr"), "--device", "cpu"], ["--calib-text", tiny, "tokens"], [Path.Combine(Dir, "out-tiny-pr")])];
        var small = CliHardeningHarness.SmallText(Dir);
        yield return [new BadCase("finetune: fewer blocks than one batch", ["finetune", "--data", small, "--out", Path.Combine(Dir, "out-batch"), "--seq-len", "16", "--batch", "500", "--device", "cpu"], ["--data", small, "--batch", "500"], [Path.Combine(Dir, "out-batch")])];
        yield return [new BadCase("finetune: --max-examples below one batch", ["finetune", "--data", small, "--out", Path.Combine(Dir, "out-maxex"), "--seq-len", "16", "--batch", "2", "--max-examples", "1", "--device", "cpu"], ["--data", small, "--batch"], [Path.Combine(Dir, "out-maxex")])];
        var noRecords = Write("empty-array.json", Encoding.UTF8.GetBytes("[]"));
        yield return [new BadCase("finetune: Alpaca file without records", ["finetune", "--data", noRecords, "--out", Path.Combine(Dir, "out-norec"), "--device", "cpu"], [noRecords, "no records"], [Path.Combine(Dir, "out-norec")])];
        var badField = Write("bad-field.jsonl", Encoding.UTF8.GetBytes("{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": 5, \"output\": \"b\"}\n"));
        yield return [new BadCase("finetune: Alpaca field of the wrong type", ["finetune", "--data", badField, "--out", Path.Combine(Dir, "out-badfield"), "--device", "cpu"], [badField, "line 2", "instruction"], [Path.Combine(Dir, "out-badfield")])];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MalformedDataIsRefused(BadCase c) => CliHardeningHarness.Refused(c);

    public static IEnumerable<object[]> StdinCases() => Kinds().Where(k => k.Bytes.Length > 0).Select(k => new object[] { k.Name });

    [Theory]
    [MemberData(nameof(StdinCases))]
    public void MalformedStandardInputIsRefused(string kind)
    {
        var (_, bytes, found) = Kinds().First(k => k.Name == kind);
        CliHardeningHarness.Refused(new BadCase($"tokenize < {kind}", ["tokenize"], ["standard input", found]), bytes);
    }

    [Fact]
    public void TokenizeReadsAFileAndStandardInput()
    {
        var file = Write("hello.txt", Encoding.UTF8.GetBytes("Hello world!"));
        var r = CliHardeningHarness.Run(["tokenize", "--file", file, "--json"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("\"ids\":[0,748,301,81,863,3]", r.Stdout);
        r = CliHardeningHarness.Run(["tokenize", "--json"], Encoding.UTF8.GetBytes("Hello world!"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("\"ids\":[0,748,301,81,863,3]", r.Stdout);
        r = CliHardeningHarness.Run(["tokenize", "--file", "-", "--json"], Encoding.UTF8.GetBytes("Hello world!"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("\"ids\":[0,748,301,81,863,3]", r.Stdout);
    }
}
