// A block of device or host memory shared by a tensor and its views; freed when the last owner lets go.
using System.Runtime.InteropServices;

namespace Lors.Tensors;

public abstract class Storage
{
    private int _refs = 1;

    protected Storage(IBackend backend, long byteLength)
    {
        Backend = backend;
        ByteLength = byteLength;
    }

    public IBackend Backend { get; }
    public long ByteLength { get; }
    public bool IsFreed => Volatile.Read(ref _refs) <= 0;

    internal void AddRef()
    {
        if (Interlocked.Increment(ref _refs) <= 1)
            throw new ObjectDisposedException(nameof(Storage), "the storage was already freed");
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0) Free();
    }

    protected abstract void Free();
}

/// <summary>Host memory aligned to 64 bytes, outside the garbage-collected heap so it is freed exactly on dispose.</summary>
public sealed unsafe class CpuStorage : Storage
{
    private readonly MemoryStats _stats;
    private void* _ptr;

    internal CpuStorage(IBackend backend, MemoryStats stats, long byteLength) : base(backend, byteLength)
    {
        _stats = stats;
        _ptr = NativeMemory.AlignedAlloc((nuint)Math.Max(byteLength, 1), 64);
        if (_ptr == null) throw new OutOfMemoryException($"could not allocate {MemoryStats.Format(byteLength)} on the host");
        stats.OnAllocate(byteLength);
    }

    public byte* Pointer => _ptr != null ? (byte*)_ptr : throw new ObjectDisposedException(nameof(CpuStorage));

    protected override void Free()
    {
        var p = _ptr;
        _ptr = null;
        if (p != null)
        {
            NativeMemory.AlignedFree(p);
            _stats.OnFree(ByteLength);
            GC.SuppressFinalize(this);
        }
    }

    ~CpuStorage()
    {
        if (_ptr != null) { NativeMemory.AlignedFree(_ptr); _stats.OnFree(ByteLength); _ptr = null; }
    }
}
