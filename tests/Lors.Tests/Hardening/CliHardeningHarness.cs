// Runs one malformed-input case through the in-process `lors` entry (LorsApp) and checks what the user sees: a non-zero
// exit, an error naming the file and field or flag, at most two lines, nothing under the final output name, no hang
// (a per-case timeout) and under 1 GB allocated before failing.
using Lors.Cli;

namespace Lors.Tests.Hardening;

/// <summary>One malformed-input case: the arguments, what the message must name, and the paths that must not appear.</summary>
public sealed record BadCase(string Name, string[] Args, string[] Mentions, string[]? MustNotExist = null)
{
    public override string ToString() => Name;
}

internal static class CliHardeningHarness
{
    public static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(90);
    public const long MaxAllocatedBytes = 1L << 30;

    public sealed record Outcome(int ExitCode, string Stdout, string Stderr, long AllocatedBytes);

    /// <summary>Runs `lors args` on a worker thread with stdout/stderr (and optionally stdin) captured.</summary>
    public static Outcome Run(string[] args, byte[]? stdin = null)
    {
        Directory.SetCurrentDirectory(RepoPaths.Root);
        var (oldOut, oldErr, oldIn) = (Console.Out, Console.Error, Lors.Cli.Cli.OpenStandardInput);
        var o = new StringWriter();
        var e = new StringWriter();
        Console.SetOut(o);
        Console.SetError(e);
        if (stdin is not null) Lors.Cli.Cli.OpenStandardInput = () => new MemoryStream(stdin);
        try
        {
            long allocated = 0;
            var task = Task.Factory.StartNew(() =>
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                try { return LorsApp.Run(args); }
                finally { allocated = GC.GetAllocatedBytesForCurrentThread() - before; }
            }, TaskCreationOptions.LongRunning);
            if (!task.Wait(CaseTimeout))
                Assert.Fail($"lors {string.Join(' ', args)}: no answer after {CaseTimeout.TotalSeconds} s (a hang)");
            return new Outcome(task.Result, o.ToString(), e.ToString(), allocated);
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
            Lors.Cli.Cli.OpenStandardInput = oldIn;
        }
    }

    /// <summary>Runs a case and asserts everything the hardening acceptance asks of a refused input; returns the error text.</summary>
    public static string Refused(BadCase c, byte[]? stdin = null)
    {
        var r = Run(c.Args, stdin);
        string all = r.Stderr + r.Stdout;
        Assert.True(r.ExitCode != 0, $"{c.Name}: exit code 0 (accepted); output: {all}");
        var error = r.Stderr.TrimEnd('\n', '\r');
        Assert.StartsWith("error: ", error);
        var lines = error.Split('\n');
        Assert.True(lines.Length <= 2, $"{c.Name}: {lines.Length} lines of error:\n{error}");
        Assert.DoesNotContain("Actual value was", error);
        Assert.DoesNotContain("   at ", error);
        foreach (var m in c.Mentions)
            Assert.True(error.Contains(m, StringComparison.Ordinal), $"{c.Name}: the error does not name '{m}': {error}");
        foreach (var p in c.MustNotExist ?? [])
            Assert.False(File.Exists(p) || Directory.Exists(p), $"{c.Name}: {p} was written");
        Assert.True(r.AllocatedBytes < MaxAllocatedBytes, $"{c.Name}: {r.AllocatedBytes / (1 << 20)} MiB allocated before failing");
        return error;
    }

    public static string TempDir(string tag)
    {
        var d = Path.Combine(Path.GetTempPath(), "lors-hardening", tag + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>A small UTF-8 text (the head of Brown train, cut at a line end) for quick runs.</summary>
    public static string SmallText(string dir, int chars = 6000)
    {
        var text = File.ReadAllText(RepoPaths.Brown("train"))[..chars];
        var path = Path.Combine(dir, "small.txt");
        File.WriteAllText(path, text[..(text.LastIndexOf('\n') + 1)]);
        return path;
    }
}
