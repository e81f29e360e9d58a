// Neural-network ops on CUDA: softmax, RMSNorm, RoPE, SwiGLU, embedding, cross-entropy, AdamW, the LoRS merge.
// Row ops run one block per row; gw of RMSNorm and the embedding backward avoid atomics, so results are deterministic.
using ILGPU;
using ILGPU.Runtime;
using Lors.Tensors.Cuda.Kernels;

namespace Lors.Tensors.Cuda;

public sealed partial class CudaBackend
{
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, int, int, int>? _kSoftmax;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int, int, int>? _kSoftmaxBack;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, int, int, int, float>? _kRms;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, int, int, int>? _kRmsBack;
    private Action<Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<byte>, ArrayView<float>, int, int, int, int>? _kRmsGwPartial;
    private Action<Index1D, ArrayView<float>, ArrayView<byte>, int, int, int>? _kRmsGwFinal;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int, int, int, int, int>? _kRope;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int, int, int, int, int, int, int>? _kRopeSwap;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int>? _kSwiGlu;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int>? _kSwiGluBack;
    private Action<KernelConfig, ArrayView<int>, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, int, int, int, int>? _kEmbed;
    private Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<byte>, ArrayView<byte>, int, int, int>? _kEmbedBack;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>? _kCe;
    private Action<KernelConfig, ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<byte>, int, int, int, float>? _kCeBack;
    private Action<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, AdamArgs>? _kAdam;
    private Action<Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<byte>, int, float>? _kMerge;

    private KernelConfig PerRow(int rows) => new(rows, RowThreads);

    private static void SameType(string op, Tensor first, params Tensor[] others)
    {
        foreach (var t in others)
            if (t.DType != first.DType)
                throw new ArgumentException($"{op}: all float tensors must share one dtype on CUDA, got {first.DType.Name()} and {t.DType.Name()}");
    }

    public void Softmax(Tensor x, Tensor y, bool log)
    {
        int dt = Ft("Softmax", x);
        SameType("Softmax", x, y);
        int rows = x.Shape[0], n = x.Shape[1];
        if (rows == 0 || n == 0) return;
        var xv = Bytes(x); var yv = Bytes(y);
        Run("Softmax", () => (_kSoftmax ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, int, int, int>(RowKernels.Softmax))(PerRow(rows), xv, yv, dt, n, log ? 1 : 0));
    }

    public void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx, bool log)
    {
        int dt = Ft("SoftmaxBackward", y);
        SameType("SoftmaxBackward", y, gy, gx);
        int rows = y.Shape[0], n = y.Shape[1];
        if (rows == 0 || n == 0) return;
        var yv = Bytes(y); var gv = Bytes(gy); var ov = Bytes(gx);
        Run("SoftmaxBackward", () => (_kSoftmaxBack ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int, int, int>(RowKernels.SoftmaxBackward))(PerRow(rows), yv, gv, ov, dt, n, log ? 1 : 0));
    }

    public void RmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd)
    {
        int dt = Ft("RmsNorm", x), tw = Ft("RmsNorm", w);
        SameType("RmsNorm", x, y);
        if (rstd.DType != DType.F32) throw new ArgumentException($"RmsNorm: rstd must be f32, got {rstd.DType.Name()}");
        int rows = x.Shape[0], c = x.Shape[1];
        if (rows == 0 || c == 0) return;
        var xv = Bytes(x); var wv = Bytes(w); var yv = Bytes(y); var rv = F32(rstd);
        Run("RmsNorm", () => (_kRms ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, int, int, int, float>(RowKernels.RmsNorm))(PerRow(rows), xv, wv, yv, rv, dt, tw, c, eps));
    }

    public void RmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor gy, Tensor gx, Tensor gw)
    {
        const string op = "RmsNormBackward";
        int dt = Ft(op, x), tw = Ft(op, w), tgw = Ft(op, gw);
        SameType(op, x, gy, gx);
        int rows = x.Shape[0], c = x.Shape[1];
        if (rows == 0 || c == 0) return;
        var xv = Bytes(x); var wv = Bytes(w); var rv = F32(rstd); var gv = Bytes(gy); var ov = Bytes(gx); var gwv = Bytes(gw);
        Run(op, () => (_kRmsBack ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<byte>, ArrayView<byte>, int, int, int>(RowKernels.RmsNormBackward))(PerRow(rows), xv, wv, rv, gv, ov, dt, tw, c));
        // gw: rows split into chunks so about 64K threads produce partial column sums, then one ordered pass adds them.
        int chunks = (int)Math.Clamp(TargetParallelism / c, 1, rows);
        int rowsPerChunk = (rows + chunks - 1) / chunks;
        chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        using var partial = Tensor.Empty([chunks, c], DType.F32, Device);
        var pv = F32(partial);
        int threads = Count(op, (long)chunks * c);
        Run(op, () => (_kRmsGwPartial ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<byte>, ArrayView<float>, int, int, int, int>(RowKernels.RmsNormGwPartial))(threads, xv, rv, gv, pv, dt, c, rows, rowsPerChunk));
        Run(op, () => (_kRmsGwFinal ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<byte>, int, int, int>(RowKernels.RmsNormGwFinal))(c, pv, gwv, tgw, c, chunks));
    }

    public void Rope(Tensor x, Tensor cos, Tensor sin, Tensor y, bool inverse)
    {
        int dt = Ft("Rope", x), tc = Ft("Rope", cos);
        SameType("Rope", x, y);
        SameType("Rope", cos, sin);
        int n = Count("Rope", x.Numel), t = x.Shape[2], d = x.Shape[3];
        if (n == 0) return;
        var xv = Bytes(x); var cv = Bytes(cos); var sv = Bytes(sin); var yv = Bytes(y);
        Run("Rope", () => (_kRope ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int, int, int, int, int>(NnKernels.Rope))(n, xv, cv, sv, yv, dt, tc, t, d, inverse ? 1 : 0));
    }

    public void RopeSwap(Tensor x, Tensor cos, Tensor sin, Tensor y, bool inverse, bool tokensFirst)
    {
        int dt = Ft("RopeSwap", x), tc = Ft("RopeSwap", cos);
        SameType("RopeSwap", x, y);
        SameType("RopeSwap", cos, sin);
        int n = Count("RopeSwap", x.Numel), y1 = y.Shape[1], y2 = y.Shape[2], d = y.Shape[3];
        if (n == 0) return;
        var xv = Bytes(x); var cv = Bytes(cos); var sv = Bytes(sin); var yv = Bytes(y);
        Run("RopeSwap", () => (_kRopeSwap ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int, int, int, int, int, int, int>(NnKernels.RopeSwap))(n, xv, cv, sv, yv, dt, tc, y1, y2, d, inverse ? 1 : 0, tokensFirst ? 1 : 0));
    }

    public void SwiGlu(Tensor gate, Tensor up, Tensor y)
    {
        int dt = Ft("SwiGlu", gate), n = Count("SwiGlu", gate.Numel);
        SameType("SwiGlu", gate, up, y);
        if (n == 0) return;
        var gv = Bytes(gate); var uv = Bytes(up); var yv = Bytes(y);
        Run("SwiGlu", () => (_kSwiGlu ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int>(NnKernels.SwiGlu))(n, gv, uv, yv, dt));
    }

    public void SwiGluBackward(Tensor gate, Tensor up, Tensor gy, Tensor gGate, Tensor gUp)
    {
        int dt = Ft("SwiGluBackward", gate), n = Count("SwiGluBackward", gate.Numel);
        SameType("SwiGluBackward", gate, up, gy, gGate, gUp);
        if (n == 0) return;
        var gv = Bytes(gate); var uv = Bytes(up); var yv = Bytes(gy); var ggv = Bytes(gGate); var guv = Bytes(gUp);
        Run("SwiGluBackward", () => (_kSwiGluBack ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int>(NnKernels.SwiGluBackward))(n, gv, uv, yv, ggv, guv, dt));
    }

    /// <summary>Gathers rows; an id outside [0, V) throws (after the launch, which costs one stream synchronization).</summary>
    public void Embedding(Tensor ids, Tensor table, Tensor y)
    {
        int tt = Ft("Embedding", table), ty = Ft("Embedding", y);
        int rows = ids.Shape[0], v = table.Shape[0], c = table.Shape[1];
        if (rows == 0 || c == 0) return;
        using var bad = Tensor.Zeros([1], DType.I32, Device);
        var iv = I32(ids); var tv = Bytes(table); var yv = Bytes(y); var bv = I32(bad);
        Run("Embedding", () => (_kEmbed ??= _acc.LoadStreamKernel<ArrayView<int>, ArrayView<byte>, ArrayView<byte>, ArrayView<int>, int, int, int, int>(NnKernels.Embedding))(PerRow(rows), iv, tv, yv, bv, tt, ty, v, c));
        int badRow = bad.ToIntArray()[0] - 1;
        if (badRow >= 0)
        {
            using var one = ids.Narrow(0, badRow, 1);
            int id = one.ToIntArray()[0];
            throw new ArgumentOutOfRangeException(nameof(ids), $"Embedding: id {id} at position {badRow} is outside the table's {v} rows");
        }
    }

    /// <summary>
    /// gTable[ids[i]] += gy[i], deterministic: the ids are copied to the host (one small synchronization), sorted
    /// stably, and each distinct id's rows are summed by one block in that order.
    /// </summary>
    public void EmbeddingBackward(Tensor ids, Tensor gy, Tensor gTable)
    {
        int tg = Ft("EmbeddingBackward", gy), tt = Ft("EmbeddingBackward", gTable);
        int rows = ids.Shape[0], v = gTable.Shape[0], c = gTable.Shape[1];
        if (rows == 0 || c == 0) return;
        var host = ids.ToIntArray();
        var order = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            order[i] = i;
            if ((uint)host[i] >= (uint)v) throw new ArgumentOutOfRangeException(nameof(ids), $"EmbeddingBackward: id {host[i]} at position {i} is outside the table's {v} rows");
        }
        Array.Sort(order, (p, q) => host[p] != host[q] ? host[p].CompareTo(host[q]) : p.CompareTo(q));
        var starts = new List<int>();
        var segIds = new List<int>();
        for (int i = 0; i < rows; i++)
            if (i == 0 || host[order[i]] != host[order[i - 1]]) { starts.Add(i); segIds.Add(host[order[i]]); }
        int segs = starts.Count;
        starts.Add(rows);
        using var dOrder = Tensor.FromArray(order, [rows], Device);
        using var dStart = Tensor.FromArray(starts.ToArray(), [segs + 1], Device);
        using var dIds = Tensor.FromArray(segIds.ToArray(), [segs], Device);
        var ov = I32(dOrder); var sv = I32(dStart); var idv = I32(dIds); var gv = Bytes(gy); var tv = Bytes(gTable);
        Run("EmbeddingBackward", () => (_kEmbedBack ??= _acc.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<byte>, ArrayView<byte>, int, int, int>(NnKernels.EmbeddingBackward))(PerRow(segs), ov, sv, idv, gv, tv, tg, tt, c));
    }

    public void CrossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor lse)
    {
        int dt = Ft("CrossEntropy", logits);
        int rows = logits.Shape[0], v = logits.Shape[1];
        if (rows == 0) return;
        // The same contract as the CPU: a bad target throws, naming it (one small copy of the targets to the host,
        // as Embedding does), instead of a NaN loss the caller would have to trace back.
        var host = targets.ToIntArray();
        for (int i = 0; i < rows; i++)
            if (host[i] != ignoreIndex && (uint)host[i] >= (uint)v)
                throw new ArgumentOutOfRangeException(nameof(targets), $"CrossEntropy: target {host[i]} at row {i} is outside [0, {v}) (V = {v}) and is not the ignore index {ignoreIndex}");
        var lv = Bytes(logits); var tv = I32(targets); var ov = F32(losses); var sv = F32(lse);
        Run("CrossEntropy", () => (_kCe ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int>(RowKernels.CrossEntropy))(PerRow(rows), lv, tv, ov, sv, dt, v, ignoreIndex));
    }

    public void CrossEntropyBackward(Tensor logits, Tensor targets, Tensor lse, int ignoreIndex, float scale, Tensor gLogits)
    {
        int dt = Ft("CrossEntropyBackward", logits);
        SameType("CrossEntropyBackward", logits, gLogits);
        int rows = logits.Shape[0], v = logits.Shape[1];
        if (rows == 0) return;
        var lv = Bytes(logits); var tv = I32(targets); var sv = F32(lse); var gv = Bytes(gLogits);
        Run("CrossEntropyBackward", () => (_kCeBack ??= _acc.LoadStreamKernel<ArrayView<byte>, ArrayView<int>, ArrayView<float>, ArrayView<byte>, int, int, int, float>(RowKernels.CrossEntropyBackward))(PerRow(rows), lv, tv, sv, gv, dt, v, ignoreIndex, scale));
    }

    public void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWArgs args)
    {
        if (m.DType != DType.F32 || v.DType != DType.F32) throw new ArgumentException($"AdamW: moments must be f32, got {m.DType.Name()} and {v.DType.Name()}");
        var a = new AdamArgs
        {
            Lr = args.Lr, Beta1 = args.Beta1, Beta2 = args.Beta2, Eps = args.Eps, WeightDecay = args.WeightDecay, GradScale = args.GradScale,
            Bc1 = (float)(1 - Math.Pow(args.Beta1, args.Step)), Bc2 = (float)(1 - Math.Pow(args.Beta2, args.Step)),
            TParam = Ft("AdamW", param), TGrad = Ft("AdamW", grad),
        };
        int n = Count("AdamW", param.Numel);
        if (n == 0) return;
        var pv = Bytes(param); var gv = Bytes(grad); var mv = F32(m); var vv = F32(v);
        Run("AdamW", () => (_kAdam ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, ArrayView<float>, AdamArgs>(NnKernels.AdamW))(n, pv, gv, mv, vv, a));
    }

    public void MaskedMerge(Tensor w, Tensor delta, float s, Tensor y)
    {
        int tw = Ft("MaskedMerge", w);
        SameType("MaskedMerge", w, y);
        if (delta.DType != DType.F32) throw new ArgumentException($"MaskedMerge: delta must be f32, got {delta.DType.Name()}");
        int n = Count("MaskedMerge", w.Numel);
        if (n == 0) return;
        var wv = Bytes(w); var dv = F32(delta); var yv = Bytes(y);
        Run("MaskedMerge", () => (_kMerge ??= _acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<byte>, ArrayView<float>, ArrayView<byte>, int, float>(NnKernels.MaskedMerge))(n, wv, dv, yv, tw, s));
    }
}
