// SparseGPT on the weight's device in fp32 (the algorithm of SparseGpt.cs): the weight is held transposed, wt
// [cols, rows], so a block of columns and everything right of it are contiguous row ranges; per block the column
// loop runs in one kernel (Ops.SparseGptBlock) and the errors reach later columns through one GEMM.
using Lors.Tensors;

namespace Lors.Train.Pruning;

internal static class DeviceSparseGpt
{
    /// <summary>Prunes weight [rows, cols] in place (its dtype kept) and returns the OBS loss estimate.</summary>
    public static double Prune(Tensor weight, DeviceHessianFactor f, SparsityPattern pattern, int blockSize)
    {
        int rows = weight.Shape[0], cols = weight.Shape[1];
        if (f.N != cols) throw new ArgumentException($"SparseGPT: Hessian is {f.N}x{f.N} for a matrix with {cols} columns");
        int m = pattern is SparsityPattern.NM nm0 ? nm0.M : 1;
        int bs = Math.Max(m, blockSize - blockSize % m); // N:M groups must not straddle blocks
        var dev = weight.Device;
        using var _ = TensorScope.Begin();
        var wt = weight.T().To(DType.F32);
        for (int j = 0; j < cols; j++)
            if (f.Dead[j]) Ops.FillInPlace(wt.Narrow(0, j, 1), 0);
        var loss = Tensor.Zeros([rows], DType.F32, dev);
        var maskBuf = Tensor.Empty([bs, rows], DType.U8, dev);
        var errBuf = Tensor.Empty([bs, rows], DType.F32, dev);
        var u = f.Upper;
        for (int i1 = 0; i1 < cols; i1 += bs)
        {
            using var block = TensorScope.Begin();
            int i2 = Math.Min(cols, i1 + bs), count = i2 - i1;
            var wb = wt.Narrow(0, i1, count);
            var ub = u.Narrow(0, i1, count).Narrow(1, i1, count).Contiguous();
            var mask = maskBuf.Narrow(0, 0, count);
            var err = errBuf.Narrow(0, 0, count);
            if (pattern is SparsityPattern.Unstructured un)
            {
                // As the host: the k lowest (w / U_ii)^2 of the block, compared in [rows, count] order for ties.
                long k = SparsityPattern.ZerosFor(un.Value, (long)rows * i2) - SparsityPattern.ZerosFor(un.Value, (long)rows * i1);
                var d = Tensor.FromArray(f.UpperDiagonal.AsSpan(i1, count).ToArray(), [count, 1], dev);
                var scores = Ops.Square(Ops.Div(wb, d)).T().Contiguous().Reshape(1, rows * count);
                var keep = Ops.MaskLowest(scores, Tensor.FromArray([checked((int)k)], [1], dev));
                Ops.CopyInto(keep.Reshape(rows, count).T(), mask);
            }
            var nm = pattern as SparsityPattern.NM;
            Ops.SparseGptBlock(wb, ub, mask, err, loss, nm?.N ?? 0, nm?.M ?? 0);
            if (i2 < cols)
            {
                var rest = wt.Narrow(0, i2, cols - i2);
                Ops.MatMulInto(u.Narrow(0, i1, count).Narrow(1, i2, cols - i2), err, rest, transA: true, alpha: -1f, beta: 1f);
            }
        }
        Ops.CopyInto(wt.T(), weight);
        return Ops.SumAll(loss).Item();
    }
}
