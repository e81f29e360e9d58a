// A per-function time breakdown: when enabled, every Function's forward and backward is timed (with a device
// synchronization after each, so asynchronous GPU work is charged to the function that launched it).
using System.Diagnostics;

namespace Lors.Autograd;

public static class Profiler
{
    private static readonly Dictionary<string, (int calls, double ms)> Totals = new();
    private static Action? _sync;

    public static bool Enabled { get; private set; }

    public static void Start(Action? synchronize = null)
    {
        lock (Totals) Totals.Clear();
        _sync = synchronize;
        _sync?.Invoke();
        Enabled = true;
    }

    /// <summary>Stops and returns a table of functions by total time.</summary>
    public static string Stop()
    {
        Enabled = false;
        lock (Totals)
        {
            double all = Totals.Values.Sum(v => v.ms);
            var lines = Totals.OrderByDescending(kv => kv.Value.ms)
                .Select(kv => $"{kv.Key,-28} {kv.Value.calls,6} calls {kv.Value.ms,10:F2} ms {100 * kv.Value.ms / Math.Max(all, 1e-9),6:F1} %");
            return string.Join(Environment.NewLine, lines.Prepend($"{"function",-28} {"",12} {all,10:F2} ms total"));
        }
    }

    internal static T Time<T>(string name, Func<T> body) => Time(() => name, body);

    /// <summary>Times body under the label name() asks for after body ran (a function may name the kernel it picked).</summary>
    internal static T Time<T>(Func<string> name, Func<T> body)
    {
        if (!Enabled) return body();
        _sync?.Invoke();
        var sw = Stopwatch.StartNew();
        var r = body();
        _sync?.Invoke();
        lock (Totals)
        {
            string label = name();
            Totals.TryGetValue(label, out var v);
            Totals[label] = (v.calls + 1, v.ms + sw.Elapsed.TotalMilliseconds);
        }
        return r;
    }
}
