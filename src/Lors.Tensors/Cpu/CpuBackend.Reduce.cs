// Reductions over the middle axis of x viewed as [outer, n, inner], accumulated in double for accuracy.
using System.Numerics;
using System.Numerics.Tensors;

namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void Reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor y) => Widened([x], [y], (i, o) =>
    {
        if (i[0].DType == DType.F64) ReduceT<double>(op, i[0], outer, n, inner, o[0]);
        else ReduceT<float>(op, i[0], outer, n, inner, o[0]);
    });

    private static void ReduceT<T>(ReduceOp op, Tensor xt, int outer, int n, int inner, Tensor yt) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* xp = (T*)Ptr(xt), yp = (T*)Ptr(yt);
        if (n == 0 && op is ReduceOp.Max or ReduceOp.Min)
            throw new ArgumentException($"Reduce.{op}: cannot reduce an empty axis");
        if (inner == 1)
        {
            // Contiguous rows: vectorized per row.
            Parallel.For(0, outer, Opts((long)outer * n), r =>
            {
                var row = new ReadOnlySpan<T>(xp + (long)r * n, n);
                yp[r] = op switch
                {
                    ReduceOp.Sum => T.CreateTruncating(SumPairwise(row)),
                    ReduceOp.Mean => n == 0 ? T.NaN : T.CreateTruncating(SumPairwise(row) / n),
                    ReduceOp.Max => TensorPrimitives.Max(row),
                    ReduceOp.Min => TensorPrimitives.Min(row),
                    ReduceOp.SumSquares => T.CreateTruncating(SumSquares(row)),
                    _ => throw new NotSupportedException($"Reduce: {op}"),
                };
            });
            return;
        }
        Parallel.For(0, outer, Opts((long)outer * n * inner), r =>
        {
            var acc = new double[inner];
            if (op is ReduceOp.Max) Array.Fill(acc, double.NegativeInfinity);
            if (op is ReduceOp.Min) Array.Fill(acc, double.PositiveInfinity);
            for (int k = 0; k < n; k++)
            {
                T* row = xp + ((long)r * n + k) * inner;
                for (int j = 0; j < inner; j++)
                {
                    double v = double.CreateTruncating(row[j]);
                    acc[j] = op switch
                    {
                        ReduceOp.Max => Math.Max(acc[j], v),
                        ReduceOp.Min => Math.Min(acc[j], v),
                        ReduceOp.SumSquares => acc[j] + v * v,
                        _ => acc[j] + v,
                    };
                }
            }
            for (int j = 0; j < inner; j++)
                yp[(long)r * inner + j] = T.CreateTruncating(op == ReduceOp.Mean ? acc[j] / n : acc[j]);
        });
    }

    /// <summary>Sum in double over blocks summed with SIMD in T: accurate enough for losses over millions of elements.</summary>
    private static double SumPairwise<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double s = 0;
        for (int i = 0; i < x.Length; i += 1024) s += double.CreateTruncating(TensorPrimitives.Sum(x.Slice(i, Math.Min(1024, x.Length - i))));
        return s;
    }

    private static double SumSquares<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double s = 0;
        for (int i = 0; i < x.Length; i += 1024) s += double.CreateTruncating(TensorPrimitives.SumOfSquares(x.Slice(i, Math.Min(1024, x.Length - i))));
        return s;
    }

    public void ArgMax(Tensor x, Tensor y) => Widened([x], [], (i, _) =>
    {
        int rows = i[0].Shape[0], n = i[0].Shape[1];
        int* yp = I(y);
        if (i[0].DType == DType.F64) { double* p = F64(i[0]); for (int r = 0; r < rows; r++) yp[r] = TensorPrimitives.IndexOfMax(new ReadOnlySpan<double>(p + (long)r * n, n)); }
        else { float* p = F(i[0]); for (int r = 0; r < rows; r++) yp[r] = TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(p + (long)r * n, n)); }
    });
}
