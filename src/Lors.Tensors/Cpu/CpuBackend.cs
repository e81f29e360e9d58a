// The CPU backend: host memory, copies with dtype conversion, fills and counter-based random numbers.
// Kernels compute F32 with SIMD and F64 (gradient checks) through the same generic code; BF16/F16 go through F32.
using System.Runtime.InteropServices;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend : IBackend
{
    public Device Device => Device.Cpu;
    public MemoryStats Memory { get; } = new();
    public string Description => $"cpu ({CpuFeatures.Level.ToString().ToLowerInvariant()}, {CpuFeatures.MaxThreads} threads)";

    public Storage Allocate(long bytes) => new CpuStorage(this, Memory, bytes);

    public void Dispose() { }

    internal static byte* Ptr(Tensor t) => ((CpuStorage)t.Storage).Pointer + t.Offset * t.DType.Size();
    internal static float* F(Tensor t) => (float*)Ptr(t);
    internal static double* F64(Tensor t) => (double*)Ptr(t);
    internal static int* I(Tensor t) => (int*)Ptr(t);
    internal static Span<T> Span<T>(Tensor t) where T : unmanaged => new(Ptr(t), checked((int)t.Numel));

    public void CopyFromHost(ReadOnlySpan<byte> src, Storage dst, long dstByteOffset)
    {
        if (dstByteOffset < 0 || dstByteOffset + src.Length > dst.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(dstByteOffset), $"CopyFromHost: {src.Length} bytes at {dstByteOffset} overrun a {dst.ByteLength}-byte storage");
        src.CopyTo(new Span<byte>(((CpuStorage)dst).Pointer + dstByteOffset, src.Length));
    }

    public void CopyToHost(Storage src, long srcByteOffset, Span<byte> dst)
    {
        if (srcByteOffset < 0 || srcByteOffset + dst.Length > src.ByteLength)
            throw new ArgumentOutOfRangeException(nameof(srcByteOffset), $"CopyToHost: {dst.Length} bytes at {srcByteOffset} overrun a {src.ByteLength}-byte storage");
        new ReadOnlySpan<byte>(((CpuStorage)src).Pointer + srcByteOffset, dst.Length).CopyTo(dst);
    }

    public void Copy(Tensor src, Tensor dst)
    {
        long n = dst.Numel;
        if (n == 0) return;
        if (src.IsContiguous)
        {
            Convert.Run(Ptr(src), src.DType, Ptr(dst), dst.DType, n);
            return;
        }
        // Strided source: walk rows of the innermost dim; each row is converted (or copied) in one call when unit-stride.
        int r = src.Rank;
        int inner = src.Shape[r - 1];
        long innerStride = src.Strides[r - 1];
        long rows = n / inner;
        int es = src.DType.Size(), ed = dst.DType.Size();
        byte* sp = ((CpuStorage)src.Storage).Pointer;
        byte* dp = Ptr(dst);
        var shape = src.Shape;
        var strides = src.Strides;
        long baseOffset = src.Offset;
        Parallel.For(0, (int)Math.Min(rows, CpuFeatures.MaxThreads), Opts(rows * inner), part =>
        {
            long parts = Math.Min(rows, CpuFeatures.MaxThreads);
            long r0 = rows * part / parts, r1 = rows * (part + 1) / parts;
            for (long row = r0; row < r1; row++)
            {
                long off = baseOffset, rem = row;
                for (int d = r - 2; d >= 0; d--) { off += rem % shape[d] * strides[d]; rem /= shape[d]; }
                byte* s = sp + off * es;
                byte* o = dp + row * inner * ed;
                if (innerStride == 1) Convert.Run(s, src.DType, o, dst.DType, inner);
                else Convert.Strided(s, innerStride, src.DType, o, dst.DType, inner);
            }
        });
    }

    public void Fill(Tensor dst, double value)
    {
        long n = dst.Numel;
        switch (dst.DType)
        {
            case DType.F32: new Span<float>(Ptr(dst), (int)n).Fill((float)value); break;
            case DType.F64: new Span<double>(Ptr(dst), (int)n).Fill(value); break;
            case DType.BF16: new Span<ushort>(Ptr(dst), (int)n).Fill(Half16.FloatToBF16((float)value)); break;
            case DType.F16: new Span<ushort>(Ptr(dst), (int)n).Fill(Half16.FloatToF16((float)value)); break;
            case DType.I32: new Span<int>(Ptr(dst), (int)n).Fill((int)value); break;
            case DType.U8: new Span<byte>(Ptr(dst), (int)n).Fill((byte)value); break;
        }
    }

    public void RandomNormal(Tensor dst, ulong seed, double mean, double std) => FillRandom(dst, i => mean + std * Rng.Normal(seed, i));

    public void RandomUniform(Tensor dst, ulong seed, double low, double high) => FillRandom(dst, i => low + (high - low) * Rng.Uniform(seed, i));

    private static void FillRandom(Tensor dst, Func<long, double> value)
    {
        if (!dst.DType.IsFloat()) throw new ArgumentException($"Random: dst must be a float tensor, got {dst.DType.Name()}");
        long n = dst.Numel;
        if (dst.DType == DType.F64)
        {
            double* p = F64(dst);
            for (long i = 0; i < n; i++) p[i] = value(i);
            return;
        }
        using var tmp = dst.DType == DType.F32 ? null : Tensor.Empty(dst.Shape, DType.F32);
        float* f = F(tmp ?? dst);
        Parallel.For(0, CpuFeatures.MaxThreads, Opts(n), part =>
        {
            long a = n * part / CpuFeatures.MaxThreads, b = n * (part + 1) / CpuFeatures.MaxThreads;
            for (long i = a; i < b; i++) f[i] = (float)value(i);
        });
        if (tmp is not null) Convert.Run((byte*)f, DType.F32, Ptr(dst), dst.DType, n);
    }

    /// <summary>Parallel options: one thread for small work so tiny ops do not pay for scheduling.</summary>
    internal static ParallelOptions Opts(long work) =>
        new() { MaxDegreeOfParallelism = work < 1 << 15 ? 1 : CpuFeatures.MaxThreads };
}
