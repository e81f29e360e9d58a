// Reductions on CUDA: [outer, n, inner] over n with chunked two-pass (deterministic) reduction, and row argmax.
using ILGPU;
using ILGPU.Runtime;
using Lors.Tensors.Cuda.Kernels;

namespace Lors.Tensors.Cuda;

public sealed partial class CudaBackend
{
    private Action<KernelConfig, ArrayView<byte>, ArrayView<float>, ArrayView<double>, ReduceArgs>? _kReduceRows;
    private Action<Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<double>, ReduceArgs>? _kReduceCols;
    private Action<Index1D, ArrayView<double>, ArrayView<float>, ReduceArgs>? _kReduceFinal;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<int>, int, int>? _kArgMax;

    /// <summary>Outputs this many threads or blocks at least before a reduction stops splitting its axis.</summary>
    private const long TargetParallelism = 1 << 16;

    public void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y)
    {
        string name = $"Reduce.{op}";
        int dt = Ft(name, x);
        if (y.DType != DType.F32) throw new ArgumentException($"{name}: y must be f32 on CUDA, got {y.DType.Name()}");
        if (n == 0 && op is ReduceOp.Max or ReduceOp.Min) throw new ArgumentException($"{name}: cannot reduce an empty axis");
        long outputs = (long)outer * inner;
        if (outputs == 0) return;
        Count(name, x.Numel);
        var a = new ReduceArgs { Op = (int)op, DType = dt, Outer = outer, N = n, Inner = inner };
        var xv = Bytes(x); var yv = F32(y);
        if (inner == 1)
        {
            // Block per (row, chunk): split long rows so at least ~TargetParallelism/256 blocks run.
            long wantBlocks = Math.Max(1, TargetParallelism / Block.Threads);
            int chunks = (int)Math.Clamp(Math.Min(wantBlocks / outer, (n + 4095L) / 4096), 1, 4096);
            a.Chunks = chunks;
            a.ChunkLen = (int)((n + chunks - 1L) / chunks);
            a.Final = chunks == 1 ? 1 : 0;
            // A 1-element dummy when unused: kernels must never receive an empty view.
            using var partial = Tensor.Empty([chunks == 1 ? 1 : checked(outer * chunks)], DType.F64, Device);
            var pv = Bytes(partial).Cast<double>();
            int blocks = Count(name, (long)outer * chunks);
            Run(name, () => (_kReduceRows ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<float>, ArrayView<double>, ReduceArgs>(ReduceKernels.Rows))(new KernelConfig(blocks, RowThreads), xv, yv, pv, a));
            if (chunks > 1) Finalize(name, pv, yv, a);
        }
        else
        {
            int chunks = (int)Math.Clamp(Math.Min(TargetParallelism / outputs, n / 64L), 1, 4096);
            a.Chunks = chunks;
            a.ChunkLen = (int)((n + chunks - 1L) / chunks);
            a.Final = chunks == 1 ? 1 : 0;
            using var partial = Tensor.Empty([chunks == 1 ? 1 : checked((int)(outputs * chunks))], DType.F64, Device);
            var pv = Bytes(partial).Cast<double>();
            int threads = Count(name, outputs * chunks);
            Run(name, () => (_kReduceCols ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<double>, ReduceArgs>(ReduceKernels.Columns))(threads, xv, yv, pv, a));
            if (chunks > 1) Finalize(name, pv, yv, a);
        }
    }

    private void Finalize(string name, ArrayView<double> partial, ArrayView<float> y, ReduceArgs a)
    {
        int outputs = Count(name, (long)a.Outer * a.Inner);
        Run(name, () => (_kReduceFinal ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<float>, ReduceArgs>(ReduceKernels.Finalize))(outputs, partial, y, a));
    }

    public void ArgMax(Tensor x, Tensor y)
    {
        int dt = Ft("ArgMax", x);
        int rows = x.Shape[0], n = x.Shape[1];
        if (rows == 0) return;
        var xv = Bytes(x); var yv = I32(y);
        Run("ArgMax", () => (_kArgMax ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<int>, int, int>(ReduceKernels.ArgMax))(new KernelConfig(rows, RowThreads), xv, yv, dt, n));
    }
}
