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

    private CudaBlock AllocateFresh(long size, long asked)
    {
        try { return new CudaBlock(_acc.Allocate1D<byte>(size), size); }
        catch (Exception first)
        {
            // Out of memory (or fragmentation): drop the cache, let pending frees finish, and try once more.
            _acc.Synchronize();
            ReleaseCached();
            try { return new CudaBlock(_acc.Allocate1D<byte>(size), size); }
            catch (Exception second)
            {
                throw new OutOfMemoryException(
                    $"CUDA out of memory: asked for {MemoryStats.Format(asked)} (rounded to {MemoryStats.Format(size)}); " +
                    $"in use {MemoryStats.Format(_stats.CurrentBytes)}, reserved {MemoryStats.Format(ReservedBytes)}, " +
                    $"device total {MemoryStats.Format(_acc.MemorySize)}. First error: {first.Message}; retry: {second.Message}", second);
            }
        }
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
