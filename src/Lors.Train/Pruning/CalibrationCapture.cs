// Calibration statistics of one linear layer's input X [tokens, in]: per-column sums of squares (Wanda) or
// X^T X (SparseGPT), accumulated in double over batches; and the ILinear wrapper that feeds them.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Train.Pruning;

internal sealed class InputStatistics(int inFeatures, bool gram)
{
    public int InFeatures { get; } = inFeatures;
    public long Tokens { get; private set; }
    /// <summary>sum over tokens of x_j^2, [in].</summary>
    public double[] ColumnSumSquares { get; } = new double[inFeatures];
    /// <summary>sum over tokens of x x^T, [in, in] row-major; null for Wanda.</summary>
    public double[]? Gram { get; } = gram ? new double[(long)inFeatures * inFeatures] : null;

    public void Add(Tensor x)
    {
        using var scope = TensorScope.Begin();
        var x2 = x.ReshapeOrCopy(-1, InFeatures);
        Tokens += x2.Shape[0];
        if (Gram is not null)
        {
            // One batch in fp32 through the GEMM, then summed in double so thousands of batches do not drift.
            var g = Ops.MatMul(x2, x2, transA: true, outType: DType.F32).ToFloatArray();
            Parallel.For(0, InFeatures, i =>
            {
                long o = (long)i * InFeatures;
                for (int j = 0; j < InFeatures; j++) Gram[o + j] += g[o + j];
            });
            for (int j = 0; j < InFeatures; j++) ColumnSumSquares[j] += g[(long)j * InFeatures + j];
        }
        else
        {
            var s = Ops.Sum(Ops.Square(x2.DType == DType.F32 ? x2 : x2.To(DType.F32)), 0).ToFloatArray();
            for (int j = 0; j < InFeatures; j++) ColumnSumSquares[j] += s[j];
        }
    }

    /// <summary>SparseGPT's H = 2/n X^T X.</summary>
    public double[] Hessian()
    {
        if (Gram is null) throw new InvalidOperationException("no X^T X was accumulated");
        if (Tokens == 0) throw new InvalidOperationException("no calibration tokens reached this layer");
        double s = 2.0 / Tokens;
        var h = new double[Gram.Length];
        for (long i = 0; i < h.Length; i++) h[i] = Gram[i] * s;
        return h;
    }
}

/// <summary>Passes x through the wrapped linear and records its statistics (null: a sibling sharing the input records them).</summary>
internal sealed class CapturingLinear(ILinear inner, InputStatistics? stats) : ILinear
{
    public ILinear Inner { get; } = inner;
    public string Name => Inner.Name;
    public int InFeatures => Inner.InFeatures;
    public int OutFeatures => Inner.OutFeatures;
    public Variable Weight => Inner.Weight;

    public Variable Forward(Variable x)
    {
        stats?.Add(x.Data);
        return Inner.Forward(x);
    }
}
