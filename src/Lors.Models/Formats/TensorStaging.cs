// Reads tensor bytes out of safetensors files with positioned reads through one bounded host buffer, so a model of
// any size passes through at most Capacity bytes of host memory at a time (reading through the memory mapping would
// leave every touched page of the shard resident in the process). Chunks are multiples of 64 bytes from the tensor's
// start, so no element and no N:M group (M <= 8) is ever split between two chunks.
using Lors.Tensors;
using Microsoft.Win32.SafeHandles;

namespace Lors.Models.Formats;

public sealed class TensorStaging : IDisposable
{
    /// <summary>64 MiB: large enough that device copies run at full speed, small beside any shard.</summary>
    public const int DefaultBytes = 64 << 20;
    private const int Granule = 64;

    private readonly byte[] _buffer;
    private readonly Dictionary<string, SafeFileHandle> _handles = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>The buffer size: no chunk handed to a sink is longer.</summary>
    public int Capacity => _buffer.Length;
    /// <summary>The longest chunk handed out so far (tests check it against Capacity).</summary>
    public int PeakChunkBytes { get; private set; }
    /// <summary>Bytes read so far.</summary>
    public long BytesRead { get; private set; }

    public TensorStaging(int bytes = DefaultBytes)
    {
        if (bytes < Granule) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"staging buffer must hold at least {Granule} bytes");
        // Pinned so device copies can read it without another copy; uninitialized since every byte is read before use.
        _buffer = GC.AllocateUninitializedArray<byte>(bytes / Granule * Granule, pinned: true);
    }

    /// <summary>Calls sink(chunk, offsetInTensor) for consecutive chunks covering the entry's bytes in order.</summary>
    public void Read(SafetensorsFile file, SafetensorsEntry entry, Action<ReadOnlySpan<byte>, long> sink)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(entry);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!file.TryGet(entry.Name, out var own) || !ReferenceEquals(own, entry))
            throw new ArgumentException($"{file.FilePath}: entry '{entry.Name}' does not belong to this file", nameof(entry));
        if (!_handles.TryGetValue(file.FilePath, out var handle))
        {
            handle = File.OpenHandle(file.FilePath, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            _handles[file.FilePath] = handle;
        }
        long start = file.DataStart + entry.ByteOffset;
        for (long done = 0; done < entry.ByteLength;)
        {
            int want = (int)Math.Min(_buffer.Length, entry.ByteLength - done);
            int have = 0;
            while (have < want)   // a positioned read may return less than asked; fill the chunk so it stays aligned
            {
                int n = RandomAccess.Read(handle, _buffer.AsSpan(have, want - have), start + done + have);
                if (n == 0) throw new SafetensorsFormatException(file.FilePath, entry.Name, $"file ends after {done + have} of the tensor's {entry.ByteLength} bytes");
                have += n;
            }
            PeakChunkBytes = Math.Max(PeakChunkBytes, have);
            BytesRead += have;
            sink(_buffer.AsSpan(0, have), done);
            done += have;
        }
    }

    /// <summary>Writes a tensor's bytes (any device, any layout) to a stream through the buffer: on the device it is made
    /// contiguous in <paramref name="dtype"/> first (one tensor's worth of device memory), then copied out chunk by chunk.</summary>
    public void Write(Tensor t, DType dtype, Stream destination)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(destination);
        ObjectDisposedException.ThrowIf(_disposed, this);
        bool convert = t.DType != dtype || !t.IsContiguous;
        var src = convert ? t.To(dtype) : t;
        try
        {
            long start = src.Offset * dtype.Size(), total = src.ByteCount;
            for (long done = 0; done < total;)
            {
                int n = (int)Math.Min(_buffer.Length, total - done);
                src.Backend.CopyToHost(src.Storage, start + done, _buffer.AsSpan(0, n));
                PeakChunkBytes = Math.Max(PeakChunkBytes, n);
                destination.Write(_buffer, 0, n);
                done += n;
            }
        }
        finally
        {
            if (convert) src.Dispose();
        }
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var h in _handles.Values) h.Dispose();
        _handles.Clear();
    }
}
