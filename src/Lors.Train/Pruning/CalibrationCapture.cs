// Calibration statistics of one linear layer's input X [tokens, in]: per-column sums of squares (Wanda) or
// X^T X (SparseGPT), accumulated in double over batches on the host, or X^T X in fp32 on the input's device (the
// device path: one GEMM with beta = 1 per batch, nothing copied); and the ILinear wrapper that feeds them.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Train.Pruning;

internal sealed class InputStatistics : IDisposable
{
    /// <summary>gramDevice: accumulate X^T X there in fp32 (DeviceGram) instead of in double on the host.</summary>
    public InputStatistics(int inFeatures, bool gram, Device? gramDevice = null)
    {
        InFeatures = inFeatures;
        ColumnSumSquares = new double[inFeatures];
        if (gram && gramDevice is { } d)
        {
            using var _ = TensorScope.Detached();
            DeviceGram = Tensor.Zeros([inFeatures, inFeatures], DType.F32, d);
        }
        else if (gram) Gram = new double[(long)inFeatures * inFeatures];
    }

    public int InFeatures { get; }
    public long Tokens { get; private set; }
    /// <summary>sum over tokens of x_j^2, [in] (not kept when DeviceGram is).</summary>
    public double[] ColumnSumSquares { get; }
    /// <summary>sum over tokens of x x^T, [in, in] row-major; null for Wanda and the device path.</summary>
    public double[]? Gram { get; }
    /// <summary>sum over tokens of x x^T, [in, in] F32 on the device; the device path's SparseGPT statistics.</summary>
    public Tensor? DeviceGram { get; }

    public void Dispose() => DeviceGram?.Dispose();

    public void Add(Tensor x)
    {
        using var scope = TensorScope.Begin();
        var x2 = x.ReshapeOrCopy(-1, InFeatures);
        Tokens += x2.Shape[0];
        if (DeviceGram is not null)
        {
            Ops.MatMulInto(x2, x2, DeviceGram, transA: true, beta: 1f);
        }
        else if (Gram is not null)
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
