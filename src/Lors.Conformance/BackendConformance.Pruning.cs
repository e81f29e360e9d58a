// Conformance cases of the pruning ops: lowest-k masks with ties (long rows, short N:M rows, one huge row),
// SparseGPT's block inverse Cholesky into a row-strided output, and SparseGPT's column loop (N:M and given mask).
using Lors.Tensors;

namespace Lors.Conformance;

public sealed partial class BackendConformance
{
    private void Pruning()
    {
        Case("MaskLowest", "rows with ties and signed zeros [37, 301], counts 0..301", d =>
        {
            var s = Quantized(37 * 301, 60, 9);
            var counts = Enumerable.Range(0, 37).Select(r => r * 301 / 36).ToArray();
            return Out(Ops.MaskLowest(FromValues(d, s, [37, 301]), Ints(d, counts, [37])).To(DType.F32));
        }, Tolerance.Exact);
        Case("MaskLowest", "N:M groups [6000, 4], 2 of each", d =>
            Out(Ops.MaskLowest(FromValues(d, Quantized(24000, 7, 10), [6000, 4]), Ints(d, [2], [1])).To(DType.F32)), Tolerance.Exact);
        Case("MaskLowest", "N:M groups [3001, 8], 4 of each", d =>
            Out(Ops.MaskLowest(FromValues(d, Quantized(3001 * 8, 1000, 11), [3001, 8]), Ints(d, [4], [1])).To(DType.F32)), Tolerance.Exact);
        Case("MaskLowest", "one row [1, 70001], k 35000, ties split", d =>
            Out(Ops.MaskLowest(FromValues(d, Quantized(70001, 50, 12), [1, 70001]), Ints(d, [35000], [1])).To(DType.F32)), Tolerance.Exact);
        Case("MaskLowest", "distinct scores [64, 1000], per-row k", d =>
            Out(Ops.MaskLowest(In(d, [64, 1000], 13, DType.F32, 0, 5), Ints(d, Enumerable.Range(0, 64).Select(r => 500 + r).ToArray(), [64])).To(DType.F32)), Tolerance.Exact);
        foreach (int k in new[] { 1, 37, 128 })
            Case("InverseCholeskyBlock", $"SPD [{k}, {k}] into rows of stride {k + 5}", d =>
            {
                var s = FromValues(d, Spd(k, 14), [k, k]);
                var u = Move(Tensor.Zeros([k, k + 5], DType.F32, Device.Cpu), d);
                int info = Ops.InverseCholeskyBlock(s, u.Narrow(1, 2, k));
                return [.. Out(u), [info]];
            }, new Tolerance(2e-5, 2e-3));
        Case("InverseCholeskyBlock", "not positive definite [9, 9]", d =>
        {
            var s = Spd(9, 15);
            s[4 * 9 + 4] = -1;
            var u = Move(Tensor.Zeros([9, 9], DType.F32, Device.Cpu), d);
            return [[Ops.InverseCholeskyBlock(FromValues(d, s, [9, 9]), u)]];
        }, Tolerance.Exact);
        foreach (var (n, m) in new[] { (2, 4), (4, 8), (0, 0) })
            Case("SparseGptBlock", m == 0 ? "unstructured, given mask [16, 300]" : $"{n}:{m} [16, 300]", d =>
            {
                const int count = 16, rows = 300;
                var wt = In(d, [count, rows], 16, DType.F32, -1, 1);
                var u = FromValues(d, Upper(count, 17), [count, count]);
                var maskValues = Quantized(count * rows, 2, 18).Select(v => (byte)(v > 0 ? 1 : 0)).ToArray();
                var mask = Move(Tensor.FromArray(maskValues, [count, rows], Device.Cpu), d);
                var err = Move(Tensor.Zeros([count, rows], DType.F32, Device.Cpu), d);
                var loss = Move(Tensor.Full([rows], 0.5, DType.F32, Device.Cpu), d);
                Ops.SparseGptBlock(wt, u, mask, err, loss, n, m);
                return Out(wt, mask.To(DType.F32), err, loss);
            }, new Tolerance(1e-5, 1e-4));
    }

    /// <summary>Scores from `levels` values (many ties), with +0 and -0 among them; deterministic in seed.</summary>
    private static float[] Quantized(int count, int levels, ulong seed)
    {
        using var u = Ops.RandomUniform([count], seed, 0, levels, DType.F32, Device.Cpu);
        var v = u.ToFloatArray();
        for (int i = 0; i < v.Length; i++)
        {
            float q = MathF.Floor(v[i]);
            v[i] = q == 0 && i % 2 == 1 ? -0f : q;
        }
        return v;
    }

    /// <summary>A A^T / k + I for a uniform A: symmetric positive definite, condition number moderate.</summary>
    private static float[] Spd(int k, ulong seed)
    {
        using var a = Ops.RandomUniform([k, k], seed, -1, 1, DType.F32, Device.Cpu);
        using var g = Ops.MatMul(a, a, transB: true);
        var s = g.ToFloatArray();
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j < k; j++) s[i * k + j] /= k;
            s[i * k + i] += 1;
        }
        return s;
    }

    /// <summary>Upper triangular with diagonal in [0.5, 1.5] and small off-diagonal entries.</summary>
    private static float[] Upper(int k, ulong seed)
    {
        using var a = Ops.RandomUniform([k, k], seed, -0.2, 0.2, DType.F32, Device.Cpu);
        var u = a.ToFloatArray();
        for (int i = 0; i < k; i++)
            for (int j = 0; j <= i; j++) u[i * k + j] = i == j ? 1f + u[i * k + j] * 2.5f : 0f;
        return u;
    }
}
