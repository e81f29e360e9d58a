// The harness of the malformed-input suite: a temporary copy of the tiny model folder per case (unchanged files
// linked, the mutated one written), and a runner that executes a case on its own thread with a timeout and
// measures what it allocated (managed bytes on that thread, native tensor bytes through the CPU backend's stats).
using System.Text.Json.Nodes;
using Lors.Cli;
using Lors.Tensors;

namespace Lors.Tests.Hardening;

/// <summary>The suite's cases run one at a time and alone, so the allocation counters see only the case.</summary>
[CollectionDefinition("FormatHardening", DisableParallelization = true)]
public sealed class FormatHardeningCollection;

/// <summary>One temporary folder holding every case of a test class; removed at the end.</summary>
public sealed class HardeningScratch : IDisposable
{
    private int _next;
    public string Root { get; } = Directory.CreateTempSubdirectory("lors-harden-").FullName;

    /// <summary>A fresh copy of the tiny model folder: every file a symbolic link to the original except those
    /// in <paramref name="replace"/> (name to bytes; null bytes delete the file).</summary>
    public string ModelCase(IReadOnlyDictionary<string, byte[]?>? replace = null, string? sourceDir = null)
    {
        string dir = Path.Combine(Root, $"case{Interlocked.Increment(ref _next):D4}");
        Directory.CreateDirectory(dir);
        sourceDir ??= RepoPaths.TinyModel;
        foreach (var src in Directory.GetFiles(sourceDir))
        {
            string name = Path.GetFileName(src), dst = Path.Combine(dir, name);
            if (replace is not null && replace.TryGetValue(name, out var bytes)) { if (bytes is not null) File.WriteAllBytes(dst, bytes); }
            else File.CreateSymbolicLink(dst, Path.GetFullPath(src));
        }
        if (replace is not null)
            foreach (var (name, bytes) in replace)
                if (bytes is not null && !File.Exists(Path.Combine(dir, name))) File.WriteAllBytes(Path.Combine(dir, name), bytes);
        return dir;
    }

    public string NewPath(string name) => Path.Combine(Root, $"p{Interlocked.Increment(ref _next):D4}-{name}");

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

public static class Hardening
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    public const long MaxBytes = 1L << 30;

    public sealed record Outcome(Exception? Error, long ManagedBytes, long NativeBytes);

    /// <summary>Runs the action on a new thread; fails the test on a hang (per-case timeout) or when more than
    /// 1 GB was allocated before it returned or threw.</summary>
    public static Outcome Run(Action action)
    {
        Exception? error = null;
        long managed = 0, native = 0;
        var thread = new Thread(() =>
        {
            var stats = Backends.Cpu.Memory;
            stats.ResetPeak();
            long nativeBefore = stats.CurrentBytes;
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { action(); }
            catch (Exception e) { error = e; }
            managed = GC.GetAllocatedBytesForCurrentThread() - before;
            native = stats.PeakBytes - nativeBefore;
        }, maxStackSize: 16 << 20) { IsBackground = true };
        thread.Start();
        Assert.True(thread.Join(Timeout), $"the case did not finish within {Timeout.TotalSeconds} s (a hang)");
        Assert.True(managed <= MaxBytes, $"the case allocated {managed:N0} managed bytes (over 1 GB)");
        Assert.True(native <= MaxBytes, $"the case allocated {native:N0} bytes of tensor memory (over 1 GB)");
        return new Outcome(error, managed, native);
    }

    /// <summary>Asserts the case throws exactly T with a message of at most two lines that contains every fragment
    /// (the file and the field or tensor), with no .NET "Actual value was" tail.</summary>
    public static T Fails<T>(Action action, params string[] fragments) where T : Exception
    {
        var o = Run(action);
        Assert.True(o.Error is not null, "the malformed input was accepted");
        var e = Assert.IsType<T>(o.Error, exactMatch: false);
        CheckMessage(e.Message, fragments);
        return e;
    }

    public static void CheckMessage(string message, params string[] fragments)
    {
        var lines = message.TrimEnd().Split('\n');
        Assert.True(lines.Length <= 2, $"the message has {lines.Length} lines: {message}");
        Assert.DoesNotContain("Actual value was", message);
        Assert.DoesNotContain("Object reference not set", message);
        foreach (var f in fragments) Assert.Contains(f, message);
    }

    /// <summary>Runs the lors tool in-process; returns the exit code and what it printed.</summary>
    public static (int Rc, string Out, string Err) Cli(params string[] args)
    {
        lock (typeof(Console))
        {
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            var o = new StringWriter();
            var e = new StringWriter();
            Console.SetOut(o);
            Console.SetError(e);
            int rc = -1;
            try { Run(() => rc = LorsApp.Run(args)); }
            finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
            return (rc, o.ToString(), e.ToString());
        }
    }

    /// <summary>A CLI failure: non-zero exit, an error of at most two lines naming every fragment, and nothing
    /// under <paramref name="finalOutput"/> (when given).</summary>
    public static void CliFails(string[] args, string? finalOutput, params string[] fragments)
    {
        var (rc, stdout, stderr) = Cli(args);
        Assert.True(rc != 0, $"exit code 0 for malformed input; stdout: {stdout}");
        string err = stderr.Trim();
        Assert.StartsWith("error:", err);
        CheckMessage(err, fragments);
        if (finalOutput is not null) Assert.False(Directory.Exists(finalOutput) || File.Exists(finalOutput), $"{finalOutput} was written");
    }

    public static byte[] Json(JsonNode node) => System.Text.Encoding.UTF8.GetBytes(node.ToJsonString());

    public static JsonObject ReadObject(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    /// <summary>A JSON value from its text ("null" gives a JSON null).</summary>
    public static JsonNode? Value(string json) => JsonNode.Parse(json);
}
