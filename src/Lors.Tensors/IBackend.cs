// The narrow interface every device implements. The Ops facade validates shapes and dtypes, allocates
// outputs and makes inputs contiguous where a kernel needs it; a backend may then assume:
//   - every tensor argument lives on this backend and is contiguous, unless the doc says "strided";
//   - float tensors are F32, BF16, F16 (compute in fp32) or F64 (CPU only); outputs may have another float dtype
//     than inputs (e.g. BF16 in, F32 out) only where the doc says so: otherwise all float args share one dtype.
//   - statistics outputs (rstd, lse, per-row losses) are F32 (F64 when the inputs are F64).
namespace Lors.Tensors;

public enum UnaryOp { Neg, Exp, Log, Sqrt, Rsqrt, Abs, Square, Sigmoid, Silu, Tanh, Relu, Sign, Reciprocal }

public enum BinaryOp { Add, Sub, Mul, Div, Max, Min, Pow }

public enum ReduceOp { Sum, Mean, Max, Min, SumSquares }

/// <summary>Hyper-parameters of one AdamW step; Step counts from 1 (bias correction uses it).</summary>
public readonly record struct AdamWArgs(float Lr, float Beta1, float Beta2, float Eps, float WeightDecay, int Step, float GradScale = 1f);

public interface IBackend : IDisposable
{
    Device Device { get; }
    MemoryStats Memory { get; }
    /// <summary>Short description for logs, e.g. "cpu (avx512, 2 threads)".</summary>
    string Description { get; }

    // ---- memory --------------------------------------------------------------------------------------
    Storage Allocate(long bytes);
    void CopyFromHost(ReadOnlySpan<byte> src, Storage dst, long dstByteOffset);
    void CopyToHost(Storage src, long srcByteOffset, Span<byte> dst);
    /// <summary>dst = src elementwise with dtype conversion. src is strided (any strides, incl. 0); dst is contiguous with the same shape.</summary>
    void Copy(Tensor src, Tensor dst);
    /// <summary>Sets every element (dst contiguous, any dtype).</summary>
    void Fill(Tensor dst, double value);
    /// <summary>Deterministic for a given seed and element count, independent of threads (float dst).</summary>
    void RandomNormal(Tensor dst, ulong seed, double mean, double std);
    void RandomUniform(Tensor dst, ulong seed, double low, double high);

    // ---- matrix products -----------------------------------------------------------------------------
    /// <summary>
    /// c = alpha * op(a) @ op(b) + beta * c. a: [M,K] or [Ba,M,K] (op(a)=a^T swaps the last two dims of storage);
    /// b: [K,N] or [Bb,K,N]; c: [M,N] or [Batch,M,N]. Batched when any is 3-D; a 2-D operand broadcasts over the batch.
    /// a and b may be F32, BF16, F16 or F64 and may differ (fp32 accumulate); c is F32 (or F64 with F64 inputs), or
    /// BF16/F16 on GPU backends. beta = 0 overwrites c (NaN in c must not leak).
    /// </summary>
    void MatMul(Tensor a, bool transA, Tensor b, bool transB, Tensor c, float alpha = 1f, float beta = 0f);

    // ---- elementwise ---------------------------------------------------------------------------------
    /// <summary>y = op(x); x and y same shape (y may be x for in-place).</summary>
    void Unary(UnaryOp op, Tensor x, Tensor y);
    /// <summary>gx = gy * op'(x) (all same shape). Defined for every UnaryOp except Sign (gradient 0).</summary>
    void UnaryBackward(UnaryOp op, Tensor x, Tensor gy, Tensor gx);
    /// <summary>y = a op b. a and b are STRIDED views already expanded to y's shape (stride 0 on broadcast dims); y contiguous.</summary>
    void Binary(BinaryOp op, Tensor a, Tensor b, Tensor y);
    /// <summary>y = x * scale + shift, elementwise (y may be x).</summary>
    void Affine(Tensor x, Tensor y, double scale, double shift);
    /// <summary>y += alpha * x (same shape; y float).</summary>
    void Axpy(Tensor x, Tensor y, double alpha);
    /// <summary>y = where(mask != 0, x, 0); mask is U8 or any float (non-zero test), same shape.</summary>
    void MaskedFill(Tensor x, Tensor mask, Tensor y);
    /// <summary>y[i] = x[i] != 0 ? 1 : 0, y is U8.</summary>
    void NonZero(Tensor x, Tensor y);

    // ---- reductions ----------------------------------------------------------------------------------
    /// <summary>x viewed as [outer, n, inner] (n = the reduced axis); y has outer*inner elements, F32 (F64 for F64 x).</summary>
    void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y);
    /// <summary>Index of the max over the last axis: x [rows, n], y I32 [rows]. Ties give the first index.</summary>
    void ArgMax(Tensor x, Tensor y);

    // ---- neural-network ops (last axis is the feature axis) -------------------------------------------
    /// <summary>y = softmax(x) or log_softmax(x) over the last axis; x, y [rows, n].</summary>
    void Softmax(Tensor x, Tensor y, bool log);
    /// <summary>Given y = (log)softmax(x) and gy, gx over the last axis.</summary>
    void SoftmaxBackward(Tensor y, Tensor gy, Tensor gx, bool log);
    /// <summary>y = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps) per row. x, y [rows, C]; w [C]; rstd [rows] F32.</summary>
    void RmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd);
    /// <summary>gx [rows, C] = d/dx; gw [C] += sum over rows (accumulates: caller zeroes it).</summary>
    void RmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor gy, Tensor gx, Tensor gw);
    /// <summary>
    /// Rotate-half RoPE as Hugging Face Llama: x [B, H, T, D], cos/sin [T, D] (rows for positions of this call).
    /// y = x*cos + rotate_half(x)*sin; inverse=true applies the transpose (the backward: sin -> -sin).
    /// </summary>
    void Rope(Tensor x, Tensor cos, Tensor sin, Tensor y, bool inverse);
    /// <summary>
    /// RoPE fused with the swap of axes 1 and 2, so the head permute costs no extra pass: tokensFirst: x [B, T, H, D]
    /// (a projection's output) to y [B, H, T, D]; otherwise x [B, H, T, D] to y [B, T, H, D] (with inverse, the backward).
    /// y[.., t, ..] = Rope(x[.., t, ..]) at position t; cos/sin [T, D].
    /// </summary>
    void RopeSwap(Tensor x, Tensor cos, Tensor sin, Tensor y, bool inverse, bool tokensFirst);
    /// <summary>y = silu(gate) * up; all [rows, C].</summary>
    void SwiGlu(Tensor gate, Tensor up, Tensor y);
    void SwiGluBackward(Tensor gate, Tensor up, Tensor gy, Tensor gGate, Tensor gUp);
    /// <summary>y[i, :] = table[ids[i], :]; ids I32 [N]; table [V, C]; y [N, C]. An id outside [0,V) throws (CPU) naming it.</summary>
    void Embedding(Tensor ids, Tensor table, Tensor y);
    /// <summary>gTable[ids[i], :] += gy[i, :] (accumulates).</summary>
    void EmbeddingBackward(Tensor ids, Tensor gy, Tensor gTable);
    /// <summary>
    /// Per-row cross-entropy: logits [N, V], targets I32 [N]; losses[i] = lse_i - logits[i, t_i], or 0 when t_i == ignoreIndex.
    /// losses and lse are F32 [N].
    /// </summary>
    void CrossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor lse);
    /// <summary>gLogits = scale * (softmax(logits) - onehot(t)) per row; rows with t == ignoreIndex get 0.</summary>
    void CrossEntropyBackward(Tensor logits, Tensor targets, Tensor lse, int ignoreIndex, float scale, Tensor gLogits);
    /// <summary>
    /// Causal attention with grouped-query heads. q [B, Hq, T, D]; k, v [B, Hkv, S, D] with S >= T and Hq % Hkv == 0;
    /// query t sits at position S - T + t and sees keys 0 .. S - T + t. out [B, Hq, T, D]; lse [B, Hq, T] F32.
    /// </summary>
    void Attention(Tensor q, Tensor k, Tensor v, float scale, Tensor output, Tensor lse);
    /// <summary>Gradients of Attention; gq, gk, gv are overwritten.</summary>
    void AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, Tensor gOut, float scale,
        Tensor gq, Tensor gk, Tensor gv);

    // ---- training --------------------------------------------------------------------------------------
    /// <summary>
    /// One AdamW step on param (F32 master weights), grad (F32/BF16) times GradScale, moments m, v (F32), all same shape:
    /// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (wd p + mhat / (sqrt(vhat) + eps)).
    /// </summary>
    void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWArgs args);
    /// <summary>The LoRS merge: y = (w != 0) ? w + s * delta : 0, with w [O, I] (any float), delta [O, I] F32; y like w.</summary>
    void MaskedMerge(Tensor w, Tensor delta, float s, Tensor y);
    /// <summary>
    /// The fused LoRS merge: y[o,i] = (w[o,i] != 0) ? w[o,i] + s * sum_k a[o,k] b[k,i] : w[o,i], with w, y [O, I] (any float,
    /// y like w), a [O, r] and b [r, I] F32 or BF16 (F64 with F64 w on the CPU). The rank-r product is formed per tile
    /// in fp32 (k in order), never as an [O, I] tensor; zeros of w are copied, so they stay exactly zero.
    /// </summary>
    void MaskedLowRankMerge(Tensor w, Tensor a, Tensor b, float s, Tensor y);

    // ---- compressed 2:4 weights (layout in Ops.Sparse24.cs; slow references in Cpu/CpuBackend.Sparse24.cs) ------
    /// <summary>
    /// w [O, I] (I % 8 == 0) to kept values [O, I/2] (w's dtype, bits copied) and meta U8 [O, I/8]. firstBad I32 [1] is
    /// set to the lowest index o * (I/4) + g of a group of four with more than two non-zeros, or left as it was when none.
    /// </summary>
    void Compress24(Tensor w, Tensor values, Tensor meta, Tensor firstBad);
    /// <summary>values [O, I/2] + meta U8 [O, I/8] to y [O, I] (values' dtype): kept values at their columns, +0 elsewhere.</summary>
    void Decompress24(Tensor values, Tensor meta, Tensor y);
    /// <summary>
    /// The LoRS merge on kept values: v'[o, j] = v != 0 ? v + s * sum_k a[o,k] b[k, col(o,j)] : v, the same arithmetic as
    /// MaskedLowRankMerge. y is [O, I/2] (compressed, like values) or [O, I] (dense, +0 at the dropped columns).
    /// </summary>
    void MaskedLowRankMerge24(Tensor values, Tensor meta, Tensor a, Tensor b, float s, Tensor y);
    /// <summary>
    /// y [N, O] = x [N, I] W^T straight from the compressed W (values [O, I/2] + meta): reads 0.5625x the bytes of the
    /// dense weight, for decoding (small N). fp32 accumulation in kept-value order; y F32 or x's dtype.
    /// </summary>
    void Linear24(Tensor x, Tensor values, Tensor meta, Tensor y);

    // ---- pruning (Lors.Train.Pruning's device path; slow references in Cpu/CpuBackend.Pruning.cs) ---------
    /// <summary>
    /// Per row of scores [rows, n] (F32), marks the counts[r] (I32 [rows], or [1] for every row) lowest scores 0 and the rest 1 in mask U8
    /// [rows, n]: the lowest by (score, index), so ties go to the lower index (-0 equals +0; NaN is not allowed).
    /// </summary>
    void MaskLowest(Tensor scores, Tensor counts, Tensor mask);
    /// <summary>
    /// One diagonal block of SparseGPT's factor: s [k, k] F32 symmetric positive definite (overwritten as scratch) is
    /// factored as s = V V^T with V upper triangular, and U = V^-1 (upper, zeros below the diagonal) is written to u,
    /// a [k, k] F32 view whose rows may be STRIDED (unit column stride). info I32 [1]: 0, or 1 + the index of the
    /// first pivot (counted from the last row up) that was not positive.
    /// </summary>
    void InverseCholeskyBlock(Tensor s, Tensor u, Tensor info);
    /// <summary>
    /// SparseGPT's column loop over one block of `count` input columns, on transposed weights wt [count, rows] F32 (in
    /// place) with u [count, count] F32 the block of the upper factor U of H^-1. For each row and column i in order:
    /// q = 0 if pruned else w_i; e = (w_i - q) / u_ii; the row's later columns j get w_j -= e u_ij; w_i = q; err[i] = e;
    /// loss[row] += e^2 / 2. m == 0: mask U8 [count, rows] is an input (0 = prune); m > 0: at each i % m == 0 the
    /// m - n lowest (w / u_ii)^2 of columns i..i+m (ties to the lower index) are pruned and written to mask.
    /// err [count, rows] F32; loss [rows] F32 accumulates.
    /// </summary>
    void SparseGptBlock(Tensor wt, Tensor u, Tensor mask, Tensor err, Tensor loss, int n, int m);
}
