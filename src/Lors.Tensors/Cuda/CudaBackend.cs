// The CUDA backend: one ILGPU context and accelerator, the accelerator's default stream for every kernel, copy and
// cuBLAS call (so work is ordered without events), a caching allocator, and kernels compiled on first use and cached.
// This file holds creation, registration, memory, copies, fills and random numbers; the ops live in partial files.
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Lors.Tensors.Cuda.Kernels;

namespace Lors.Tensors.Cuda;

public sealed partial class CudaBackend : IBackend
{
    private static readonly object CreateGate = new();
    private static readonly Dictionary<int, string> Failures = new();

    private readonly Context _context;
    private readonly Accelerator _acc;
    private readonly AcceleratorStream _stream;
    private readonly CudaAllocator _alloc;
    private readonly CuBlas? _blas;
    private readonly string _blasNote;
    [ThreadStatic] private static CudaBackend? _boundHere;

    private CudaBackend(Context context, Accelerator acc, int index)
    {
        _context = context;
        _acc = acc;
        _stream = acc.DefaultStream;
        Device = Device.Cuda(index);
        _alloc = new CudaAllocator(acc, Memory);
        string why = "ILGPU CPU simulator";
        _blas = _stream is CudaStream cs ? CuBlas.TryCreate(cs.StreamPtr, out why) : null;
        _blasNote = _blas is not null ? _blas.LibraryName : "no cuBLAS (" + why + "); tiled ILGPU GEMM fallback";
        _boundHere = this;
        // The CPU simulator runs each thread of a group as an OS thread: one warp per row block keeps it usable.
        RowThreads = acc.AcceleratorType == AcceleratorType.CPU ? 32 : Block.Threads;
    }

    /// <summary>Threads per block of the block-per-row kernels.</summary>
    private int RowThreads { get; }

    public Device Device { get; }
    public MemoryStats Memory { get; } = new();
    public string Description => $"cuda:{Device.Index} ({_acc.Name}, {MemoryStats.Format(_acc.MemorySize)}, {Arch}, {_acc.NumMultiprocessors} SMs; {_blasNote})";

    /// <summary>Device bytes held from the driver (in use + cached by the allocator).</summary>
    public long ReservedBytes => _alloc.ReservedBytes;

    /// <summary>Most device bytes the allocator may hold (in use + cached); long.MaxValue (the default) means no limit.</summary>
    public long MemoryLimitBytes { get => _alloc.LimitBytes; set => _alloc.LimitBytes = value; }

    /// <summary>True when matrix products go through cuBLAS (false: the ILGPU tiled fallback).</summary>
    public bool UsesCuBlas => _blas is not null;

    private string Arch => _acc is CudaAccelerator { Architecture: { } a } ? $"sm_{a.Major}{a.Minor}" : _acc.AcceleratorType.ToString();

    /// <summary>
    /// Device indexes from this value up are served, when <see cref="SimulatorEnabled"/> is set, by ILGPU's CPU
    /// accelerator emulating an NVIDIA device (warp size 32). Very slow; it lets tests run every CUDA kernel
    /// (without cuBLAS) on a machine without a GPU.
    /// </summary>
    public const int SimulatorIndex = 100;

    public static bool SimulatorEnabled { get; set; } = Environment.GetEnvironmentVariable("LORS_CUDA_SIMULATOR") == "1";

    /// <summary>Called by <see cref="Backends"/> through reflection: registers a factory that never throws.</summary>
    public static void Register() => Backends.RegisterCudaFactory(TryCreate);

    /// <summary>A one-line description of CUDA device 0 for `lors info`, or null when there is none.</summary>
    public static string? Probe()
    {
        try { return Backends.TryGet(Device.Cuda(), out var b) && b is not null ? b.Description : null; }
        catch (Exception) { return null; }
    }

    /// <summary>Why the backend for a device index could not start (null if it did or was never tried).</summary>
    public static string? FailureReason(int index)
    {
        lock (CreateGate) return Failures.TryGetValue(index, out var s) ? s : null;
    }

    private static IBackend? TryCreate(int index)
    {
        lock (CreateGate)
        {
            if (Failures.ContainsKey(index)) return null; // do not pay for a failed driver probe twice
            Context? ctx = null;
            try
            {
                if (index >= SimulatorIndex)
                {
                    if (!SimulatorEnabled) throw new NotSupportedException($"cuda:{index} is the ILGPU CPU simulator, which is off (set LORS_CUDA_SIMULATOR=1)");
                    ctx = Context.Create(b => b.CPU(CPUDeviceKind.Nvidia).EnableAlgorithms());
                    return new CudaBackend(ctx, ctx.CreateCPUAccelerator(0), index);
                }
                if (Environment.GetEnvironmentVariable("LORS_NO_CUDA") == "1") throw new NotSupportedException("disabled by LORS_NO_CUDA=1");
                ctx = Context.Create(b => b.Cuda().EnableAlgorithms());
                var devices = ctx.GetCudaDevices();
                if (index < 0 || index >= devices.Count) throw new NotSupportedException($"no CUDA device {index} ({devices.Count} found)");
                var acc = devices[index].CreateCudaAccelerator(ctx);
                return new CudaBackend(ctx, acc, index);
            }
            catch (Exception e)
            {
                Failures[index] = e.GetType().Name + ": " + e.Message;
                try { ctx?.Dispose(); } catch (Exception) { /* a broken driver must not take the process down */ }
                return null;
            }
        }
    }

    /// <summary>Makes this backend's CUDA context current on the calling thread (cheap after the first call).</summary>
    private void Bind()
    {
        if (_boundHere == this) return;
        _acc.Bind();
        _boundHere = this;
    }

    public void Dispose()
    {
        Bind();
        _acc.Synchronize();
        _blas?.Dispose();
        _alloc.Dispose();
        _acc.Dispose();
        _context.Dispose();
    }

    // ---- helpers -----------------------------------------------------------------------------------------

    internal static CudaStorage Store(Tensor t) => (CudaStorage)t.Storage;

    /// <summary>The tensor's elements (from its offset) as bytes.</summary>
    internal static ArrayView<byte> Bytes(Tensor t)
    {
        int es = t.DType.Size();
        return Store(t).View.SubView(t.Offset * es, Math.Max(1, t.Numel) * es);
    }

    internal static ArrayView<float> F32(Tensor t) => Bytes(t).Cast<float>();
    internal static ArrayView<int> I32(Tensor t) => Bytes(t).Cast<int>();
    internal static IntPtr Ptr(Tensor t) => Store(t).Pointer + (nint)(t.Offset * t.DType.Size());

    /// <summary>The dtype code kernels take for a float tensor; F64 is CPU-only.</summary>
    internal static int Ft(string op, Tensor t)
    {
        if (t.DType is DType.F32 or DType.BF16 or DType.F16) return (int)t.DType;
        if (t.DType == DType.F64) throw new NotSupportedException($"{op}: F64 tensors are not supported on CUDA (use F32 or BF16; F64 is for CPU gradient checks)");
        throw new ArgumentException($"{op}: expected a float tensor, got {t.DType.Name()} {Tensor.ShapeString(t.Shape)}");
    }

    internal static int Count(string op, long n)
    {
        if (n > int.MaxValue) throw new NotSupportedException($"{op}: {n} elements exceed the 2^31 limit of one CUDA launch");
        return (int)n;
    }

    /// <summary>Runs a launch, naming the op when the kernel fails to compile or launch.</summary>
    private void Run(string op, Action launch)
    {
        Bind();
        try { launch(); }
        catch (Exception e) when (e is not ArgumentException and not NotSupportedException and not OutOfMemoryException)
        {
            throw new InvalidOperationException($"CUDA kernel for {op} failed on {_acc.Name}: {e.GetType().Name}: {e.Message}", e);
        }
    }


    // ---- memory -------------------------------------------------------------------------------------------

    public Storage Allocate(long bytes)
    {
        Bind();
        return new CudaStorage(this, _alloc, bytes);
    }

    /// <summary>The size class the allocator hands out for a request of this many bytes.</summary>
    public static long RoundAllocation(long bytes) => CudaAllocator.RoundUp(bytes);

    /// <summary>Drops the allocator's cached blocks (e.g. before measuring device memory from outside).</summary>
    public void EmptyCache()
    {
        Bind();
        _acc.Synchronize();
        _alloc.ReleaseCached();
    }

    public void Synchronize()
    {
        Bind();
        _stream.Synchronize();
    }

    public void CopyFromHost(ReadOnlySpan<byte> src, Storage dst, long dstByteOffset)
    {
        if (dstByteOffset < 0 || dstByteOffset + src.Length > dst.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(dstByteOffset), $"CopyFromHost: {src.Length} bytes at {dstByteOffset} overrun a {dst.ByteLength}-byte storage");
        if (src.Length == 0) return;
        Bind();
        ArrayView1D<byte, Stride1D.Dense> view = ((CudaStorage)dst).View.SubView(dstByteOffset, src.Length);
        view.CopyFromCPU(_stream, src);
        _stream.Synchronize(); // the host span may be a managed array that moves or dies after we return
    }

    public void CopyToHost(Storage src, long srcByteOffset, Span<byte> dst)
    {
        if (srcByteOffset < 0 || srcByteOffset + dst.Length > src.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(srcByteOffset), $"CopyToHost: {dst.Length} bytes at {srcByteOffset} overrun a {src.ByteLength}-byte storage");
        if (dst.Length == 0) return;
        Bind();
        ArrayView1D<byte, Stride1D.Dense> view = ((CudaStorage)src).View.SubView(srcByteOffset, dst.Length);
        view.CopyToCPU(_stream, dst);
        _stream.Synchronize();
    }

    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, Layout>? _kCopy;
    private Action<Index1D, ArrayView<byte>, int, ulong>? _kFill;
    private Action<Index1D, ArrayView<byte>, RandomArgs>? _kRandom;

    public void Copy(Tensor src, Tensor dst)
    {
        int n = Count("Copy", dst.Numel);
        if (n == 0) return;
        Bind();
        if (src.DType == dst.DType && src.IsContiguous)
        {
            // Same type, dense: a device-to-device memcpy.
            ArrayView1D<byte, Stride1D.Dense> s = Bytes(src), d = Bytes(dst);
            Run("Copy", () => s.SubView(0, dst.ByteCount).CopyTo(_stream, d.SubView(0, dst.ByteCount)));
            return;
        }
        var l = Layout.Make("Copy", src.Shape, src.Strides, src.Offset, null, 0);
        l.TA = (int)src.DType;
        l.TY = (int)dst.DType;
        l.ES = src.DType.Size();
        var sv = Store(src).View;
        var dv = Bytes(dst);
        Run("Copy", () => (_kCopy ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, Layout>(MemoryKernels.Copy))(n, sv, dv, l));
    }

    public void Fill(Tensor dst, double value)
    {
        int n = Count("Fill", dst.Numel);
        if (n == 0) return;
        ulong bits = dst.DType switch
        {
            DType.F32 => BitConverter.SingleToUInt32Bits((float)value),
            DType.BF16 => Half16.FloatToBF16((float)value),
            DType.F16 => Half16.FloatToF16((float)value),
            DType.F64 => BitConverter.DoubleToUInt64Bits(value),
            DType.I32 => (uint)(int)value,
            _ => (byte)value,
        };
        var d = Bytes(dst);
        int es = dst.DType.Size();
        Run("Fill", () => (_kFill ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, int, ulong>(MemoryKernels.Fill))(n, d, es, bits));
    }

    public void RandomNormal(Tensor dst, ulong seed, double mean, double std) => RandomFill("RandomNormal", dst, new RandomArgs { Seed = seed, A = mean, B = std, Normal = 1 });

    public void RandomUniform(Tensor dst, ulong seed, double low, double high) => RandomFill("RandomUniform", dst, new RandomArgs { Seed = seed, A = low, B = high });

    private void RandomFill(string op, Tensor dst, RandomArgs r)
    {
        if (!dst.DType.IsFloat()) throw new ArgumentException($"{op}: dst must be a float tensor, got {dst.DType.Name()}");
        int n = Count(op, dst.Numel);
        if (n == 0) return;
        r.DType = (int)dst.DType;
        var d = Bytes(dst);
        Run(op, () => (_kRandom ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, RandomArgs>(MemoryKernels.Random))(n, d, r));
    }
}
