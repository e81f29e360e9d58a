// BenchmarkDotNet micro-benchmarks of Gemm.Sgemm / GemmEx on the reference shapes (run: `-- micro --filter *Gemm*`).
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Lors.Tensors.Cpu;

namespace Lors.Bench.Micro;

[MemoryDiagnoser]
public unsafe class GemmBenchmarks
{
    [Params("1024x1024x1024", "256x688x2048", "2048x2048x16", "2048x16x2048", "16x2048x2048")]
    public string Shape { get; set; } = "";

    private int _m, _n, _k;
    private float* _a, _b, _c;
    private ushort* _bBf16;

    [GlobalSetup]
    public void Setup()
    {
        var d = Shape.Split('x').Select(int.Parse).ToArray();
        (_m, _n, _k) = (d[0], d[1], d[2]);
        _a = GemmBench.Random((long)_m * _k, 1);
        _b = GemmBench.Random((long)_k * _n, 2);
        _c = GemmBench.Random((long)_m * _n, 3);
        _bBf16 = (ushort*)NativeMemory.AlignedAlloc((nuint)((long)_k * _n * 2), 64);
        for (long i = 0; i < (long)_k * _n; i++) _bBf16[i] = (ushort)(BitConverter.SingleToUInt32Bits(_b[i]) >> 16);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_a); NativeMemory.AlignedFree(_b); NativeMemory.AlignedFree(_c); NativeMemory.AlignedFree(_bBf16);
    }

    [Benchmark(Baseline = true)]
    public void Sgemm() => Gemm.Sgemm(false, false, _m, _n, _k, 1f, _a, _k, _b, _n, 0f, _c, _n);

    [Benchmark]
    public void SgemmTransB() => Gemm.Sgemm(false, true, _m, _n, _k, 1f, _a, _k, _b, _k, 0f, _c, _n);

    [Benchmark]
    public void GemmExBf16B() => Gemm.GemmEx(false, false, _m, _n, _k, 1f, _a, GemmElement.F32, _k, _bBf16, GemmElement.BF16, _n, 0f, _c, _n);
}
