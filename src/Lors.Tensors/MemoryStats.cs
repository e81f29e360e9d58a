// Byte counters a backend keeps for its allocations: current and peak, which tests and benchmarks read.
namespace Lors.Tensors;

public sealed class MemoryStats
{
    private long _current, _peak, _allocations;

    public long CurrentBytes => Interlocked.Read(ref _current);
    public long PeakBytes => Interlocked.Read(ref _peak);
    public long Allocations => Interlocked.Read(ref _allocations);

    /// <summary>Makes the peak equal to the current bytes, so a later read gives the peak of what follows.</summary>
    public void ResetPeak() => Interlocked.Exchange(ref _peak, CurrentBytes);

    internal void OnAllocate(long bytes)
    {
        Interlocked.Increment(ref _allocations);
        long now = Interlocked.Add(ref _current, bytes);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak) { }
    }

    internal void OnFree(long bytes) => Interlocked.Add(ref _current, -bytes);

    public override string ToString() => $"current {Format(CurrentBytes)}, peak {Format(PeakBytes)}";

    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:F1} KiB",
        _ => $"{bytes} B",
    };
}
