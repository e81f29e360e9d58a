// A caching allocator for device memory: sizes are rounded to classes (512 B steps up to 1 MiB, 2 MiB steps above),
// freed blocks wait in per-class free lists for reuse, and on an allocation failure every cached block is released
// before one retry. Everything runs on one stream, so a block freed here may be reused by the next launch at once.
using ILGPU;
using ILGPU.Runtime;

namespace Lors.Tensors.Cuda;

internal sealed class CudaBlock
{
    public CudaBlock(MemoryBuffer1D<byte, Stride1D.Dense> buffer, long size) { Buffer = buffer; Size = size; }
    public MemoryBuffer1D<byte, Stride1D.Dense> Buffer { get; }
    public long Size { get; }
    public ArrayView<byte> View => Buffer.View;
    public IntPtr Pointer => Buffer.NativePtr;
}

internal sealed class CudaAllocator : IDisposable
{
    private const long SmallStep = 512, LargeStep = 2L << 20, SmallLimit = 1L << 20;

    private readonly Accelerator _acc;
    private readonly MemoryStats _stats;
    private readonly object _gate = new();
    private readonly Dictionary<long, Stack<CudaBlock>> _free = new();
    // Rented blocks stay referenced here: a leaked tensor's storage finalizer may then hand its block back safely,
    // because the ILGPU buffer can never become unreachable (and finalized itself) while we still own it.
    private readonly HashSet<CudaBlock> _rented = new(ReferenceEqualityComparer.Instance);
    private long _reserved, _cached;

    public CudaAllocator(Accelerator acc, MemoryStats stats) { _acc = acc; _stats = stats; }

    /// <summary>Device bytes held from the driver: blocks in use plus blocks cached for reuse.</summary>
    public long ReservedBytes { get { lock (_gate) return _reserved; } }
    public long CachedBytes { get { lock (_gate) return _cached; } }

    public static long RoundUp(long bytes)
    {
        long b = Math.Max(bytes, 1);
        long step = b <= SmallLimit ? SmallStep : LargeStep;
        return (b + step - 1) / step * step;
    }

    public CudaBlock Rent(long bytes)
    {
        long size = RoundUp(bytes);
        lock (_gate)
        {
            if (_free.TryGetValue(size, out var list) && list.Count > 0)
            {
                var cached = list.Pop();
                _cached -= size;
                _rented.Add(cached);
                _stats.OnAllocate(size);
                return cached;
            }
        }
        var block = AllocateFresh(size, bytes);
        lock (_gate) { _reserved += size; _rented.Add(block); }
        _stats.OnAllocate(size);
        return block;
    }

    public void Return(CudaBlock block)
    {
        lock (_gate)
        {
            if (!_rented.Remove(block)) return; // returned twice: ignore rather than corrupt the cache
            if (!_free.TryGetValue(block.Size, out var list)) _free[block.Size] = list = new Stack<CudaBlock>();
            list.Push(block);
            _cached += block.Size;
        }
        _stats.OnFree(block.Size);
    }

    /// <summary>Gives every cached (unused) block back to the driver.</summary>
    public void ReleaseCached()
    {
        lock (_gate)
        {
            foreach (var list in _free.Values)
                while (list.Count > 0)
                {
                    var b = list.Pop();
                    _reserved -= b.Size;
                    _cached -= b.Size;
                    b.Buffer.Dispose();
                }
            _free.Clear();
        }
    }

    /// <summary>
    /// Bytes this allocator may hold from the driver (in use + cached); unlimited by default. A lower limit makes a
    /// smaller GPU (or an out-of-memory) reproducible: a request over it fails as the driver's would, after one retry.
    /// </summary>
    public long LimitBytes { get; set; } = long.MaxValue;

    private CudaBlock AllocateFresh(long size, long asked)
    {
        Exception? first = null, second = null;
        if (FitsLimit(size))
        {
            try { return new CudaBlock(_acc.Allocate1D<byte>(size), size); }
            catch (Exception e) { first = e; }
        }
        // Out of memory (or fragmentation): drop the cache, let pending frees finish, and try once more.
        _acc.Synchronize();
        ReleaseCached();
        if (FitsLimit(size))
        {
            try { return new CudaBlock(_acc.Allocate1D<byte>(size), size); }
            catch (Exception e) { second = e; }
        }
        // Nothing was changed but the cache: the caller may catch this, free tensors and go on.
        string limit = LimitBytes == long.MaxValue ? "" : $", limit {MemoryStats.Format(LimitBytes)}";
        string why = first is null && second is null ? "over the limit" : $"first error: {first?.Message ?? "over the limit"}; retry: {second?.Message ?? "over the limit"}";
        throw new OutOfMemoryException(
            $"CUDA out of memory: asked for {MemoryStats.Format(asked)} (rounded to {MemoryStats.Format(size)}); " +
            $"in use {MemoryStats.Format(_stats.CurrentBytes)}, reserved {MemoryStats.Format(ReservedBytes)}, " +
            $"device total {MemoryStats.Format(_acc.MemorySize)}{limit}. {why}", second ?? first);
    }

    private bool FitsLimit(long size)
    {
        lock (_gate) return LimitBytes == long.MaxValue || _reserved + size <= LimitBytes;
    }

    public void Dispose()
    {
        ReleaseCached();
    }
}

/// <summary>Device memory of one tensor (and its views): a block rented from the backend's caching allocator.</summary>
public sealed class CudaStorage : Storage
{
    private readonly CudaAllocator _allocator;
    private CudaBlock? _block;

    internal CudaStorage(CudaBackend backend, CudaAllocator allocator, long byteLength) : base(backend, byteLength)
    {
        _allocator = allocator;
        _block = allocator.Rent(byteLength);
    }

    internal CudaBlock Block => _block ?? throw new ObjectDisposedException(nameof(CudaStorage));

    /// <summary>The whole block as bytes (at least ByteLength long).</summary>
    internal ArrayView<byte> View => Block.View;

    /// <summary>Device address of the first byte, for cuBLAS.</summary>
    internal IntPtr Pointer => Block.Pointer;

    protected override void Free()
    {
        var b = Interlocked.Exchange(ref _block, null);
        if (b is not null) { _allocator.Return(b); GC.SuppressFinalize(this); }
    }

    ~CudaStorage()
    {
        var b = Interlocked.Exchange(ref _block, null);
        if (b is not null) _allocator.Return(b);
    }
}
