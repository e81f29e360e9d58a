// Dispatch of the tensor-core ("mma") attention (Kernels/AttentionMma*.cs): which inputs it covers (BF16/F16, head
// dim a multiple of 16 up to 128), the kernel instance for (PTX or emulated mma, BF16 or F16, head dim) - the CPU
// simulator runs the emulated mma, a GPU the inline-PTX mma.sync - and the forward / backward launches.
using System.Reflection;
using ILGPU;
using ILGPU.Runtime;
using Lors.Tensors.Cuda.Kernels;

namespace Lors.Tensors.Cuda;

using MmaFwd = Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>;
using MmaBwdQ = Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, AttnArgs>;
using MmaBwdKV = Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, AttnArgs>;

public sealed partial class CudaBackend
{
    private readonly Dictionary<(string kernel, bool f16, int d), Delegate> _mmaKernels = new();
    private static readonly HashSet<string> AttentionNotes = new();

    /// <summary>Whether the tensor-core attention covers this dtype and head dim.</summary>
    public static bool MmaAttentionCovers(DType dt, int d) =>
        (dt == DType.BF16 || dt == DType.F16) && d >= 16 && d <= MmaTile.MaxD && d % 16 == 0;

    /// <summary>The simulator (ILGPU's CPU accelerator) runs the emulated mma; it is never the automatic choice there.</summary>
    private bool MmaEmulated => _acc.AcceleratorType == AcceleratorType.CPU;

    /// <summary>The algorithm <see cref="Attention(Tensor, Tensor, Tensor, float, Tensor, Tensor)"/> runs for q: mma, gemm, tiled or naive.</summary>
    public string AttentionAlgorithmName(Tensor q) => PickAttention(q.Shape[3], q.DType).ToString().ToLowerInvariant();

    /// <summary>Says once per (dtype, head dim) on stderr when the tensor-core kernel was wanted but cannot run.</summary>
    private static void NoteFallback(DType dt, int d, AttnAlgo used, string? why = null)
    {
        string note = why is null
            ? $"attention: the tensor-core (mma) kernel does not cover {dt.Name()} with head dim {d} (BF16/F16, D a multiple of 16 up to {MmaTile.MaxD}); using {used.ToString().ToLowerInvariant()}"
            : $"attention: not using the tensor-core (mma) kernel ({why}); using {used.ToString().ToLowerInvariant()}";
        lock (AttentionNotes)
            if (!AttentionNotes.Add(note)) return;
        Console.Error.WriteLine(note);
    }

    private T MmaKernel<T>(string kernel, bool f16, int d) where T : Delegate
    {
        lock (_mmaKernels)
        {
            if (_mmaKernels.TryGetValue((kernel, f16, d), out var cached)) return (T)cached;
            var tm = MmaEmulated ? (f16 ? typeof(EmuMmaF16) : typeof(EmuMmaBf16)) : (f16 ? typeof(PtxMmaF16) : typeof(PtxMmaBf16));
            var td = typeof(IHeadDim).Assembly.GetType($"Lors.Tensors.Cuda.Kernels.Hd{d}")
                ?? throw new NotSupportedException($"attention: no tensor-core kernel for head dim {d}");
            var m = typeof(AttentionMma).GetMethod(kernel, BindingFlags.Public | BindingFlags.Static)!.MakeGenericMethod(tm, td);
            Delegate k = kernel switch
            {
                nameof(AttentionMma.Forward) => _acc.LoadStreamKernel(m.CreateDelegate<Action<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>>()),
                nameof(AttentionMma.BackwardQ) => _acc.LoadStreamKernel(m.CreateDelegate<Action<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, AttnArgs>>()),
                _ => _acc.LoadStreamKernel(m.CreateDelegate<Action<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, AttnArgs>>()),
            };
            _mmaKernels[(kernel, f16, d)] = k;
            return (T)k;
        }
    }

    /// <summary>The mma kernels read 16-bit pairs as 32-bit words: every tensor must start at an even element.</summary>
    private static bool MmaAligned(Tensor[] ts) => ts.All(t => t.Offset % 2 == 0);

    /// <summary>algo, unless it is mma and some tensor is a view at an odd element offset (then the usual algorithm).</summary>
    private AttnAlgo MmaOrOther(AttnAlgo algo, int d, params Tensor[] ts)
    {
        if (algo != AttnAlgo.Mma || MmaAligned(ts)) return algo;
        var other = _blas is not null && d <= GemmAttentionMaxHeadDim ? AttnAlgo.Gemm : AttnAlgo.Tiled;
        NoteFallback(ts[0].DType, d, other, "a tensor view starts at an odd element");
        return other;
    }

    private static void CheckMma(string op, params Tensor[] ts)
    {
        var q = ts[0];
        if (!MmaAttentionCovers(q.DType, q.Shape[3]))
            throw new NotSupportedException($"{op}: the tensor-core attention needs BF16/F16 and a head dim that is a multiple of 16 up to {MmaTile.MaxD}, got {q.DType.Name()} with D = {q.Shape[3]}");
        if (!MmaAligned(ts))
            throw new NotSupportedException($"{op}: the tensor-core attention needs tensors starting at an even element (32-bit aligned)");
    }

    private void AttentionMmaForward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, AttnArgs a)
    {
        CheckMma("Attention", q, k, v, output);
        var kern = MmaKernel<MmaFwd>(nameof(AttentionMma.Forward), q.DType == DType.F16, a.D);
        var cfg = new KernelConfig(checked(a.B * a.Hq * Tiles(a.T, AttentionMma.FwdRows)), MmaTile.Threads);
        var qv = Bytes(q); var kv = Bytes(k); var vv = Bytes(v); var ov = Bytes(output); var lv = F32(lse);
        Run("Attention", () => kern(cfg, qv, kv, vv, ov, lv, a));
    }

    private void AttentionMmaBackward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, Tensor gOut, Tensor gq, Tensor gk, Tensor gv, AttnArgs a)
    {
        const string op = "AttentionBackward";
        CheckMma(op, q, k, v, output, gOut, gq, gk, gv);
        bool f16 = q.DType == DType.F16;
        long rows = (long)a.B * a.Hq * a.T;
        using var delta = Tensor.Empty([checked((int)rows)], DType.F32, Device);
        var qv = Bytes(q); var kv = Bytes(k); var vv = Bytes(v); var ov = Bytes(output); var lv = F32(lse); var gov = Bytes(gOut);
        var dv = F32(delta); var gqv = Bytes(gq); var gkv = Bytes(gk); var gvv = Bytes(gv);
        Run(op, () => (_kAttnRowDot ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<float>, AttnArgs>(AttentionGemmKernels.RowDot))(PerWarpRow(rows), ov, gov, dv, a));
        var kq = MmaKernel<MmaBwdQ>(nameof(AttentionMma.BackwardQ), f16, a.D);
        var kkv = MmaKernel<MmaBwdKV>(nameof(AttentionMma.BackwardKV), f16, a.D);
        var cq = new KernelConfig(checked(a.B * a.Hq * Tiles(a.T, AttentionMma.DqRows)), MmaTile.Threads);
        var ckv = new KernelConfig(checked(a.B * a.Hkv * Tiles(a.S, AttentionMma.KvKeys)), MmaTile.Threads);
        Run(op, () => kq(cq, qv, kv, vv, gov, lv, dv, gqv, a));
        Run(op, () => kkv(ckv, qv, kv, vv, gov, lv, dv, gkv, gvv, a));
    }
}
