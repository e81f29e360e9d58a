// Wall seconds of a command's phases (load, prune, init, train, save, ...) for the --json output, plus the time since
// the process started (what a user waits), so scripts can print where the time went.
using System.Diagnostics;

namespace Lors.Cli;

public sealed class PhaseTimer
{
    private readonly Stopwatch _sw = Stopwatch.StartNew();
    private TimeSpan _last;
    private readonly Dictionary<string, double> _seconds = new();

    /// <summary>Phase name -> seconds, in the order marked; "since_launch" is the process's age at the last mark.</summary>
    public IReadOnlyDictionary<string, double> Seconds => _seconds;

    /// <summary>Ends the current phase under <paramref name="name"/> (a repeated name accumulates).</summary>
    public void Mark(string name)
    {
        var now = _sw.Elapsed;
        _seconds[name] = _seconds.GetValueOrDefault(name) + (now - _last).TotalSeconds;
        _last = now;
        _seconds["since_launch"] = SinceLaunch();
    }

    /// <summary>Records a moment (not a phase), e.g. when the first training step finished, as seconds since launch.</summary>
    public void At(string name) => _seconds[name] = SinceLaunch();

    public static double SinceLaunch() => (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds;

    public override string ToString() => string.Join(", ", _seconds.Select(kv => $"{kv.Key} {kv.Value:F1} s"));
}
