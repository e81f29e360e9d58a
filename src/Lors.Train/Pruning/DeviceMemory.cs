// What one decoder layer of the device pruning path keeps on the device, estimated from the shapes, for the error
// that a layer did not fit: the calibration inputs [tokens, hidden], one forward batch, the statistics X^T X, the
// largest Hessian factor (H and U) and the fp32 working copies of the largest weight.
using Lors.Models.Formats;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Train.Pruning;

internal static class DeviceMemory
{
    public static (long Total, string Parts) Estimate(LlamaConfig c, DType computeType, PruneOptions o, long tokens)
    {
        long h = c.HiddenSize, f = c.IntermediateSize, es = computeType.Size();
        long inputs = tokens * h * es;
        long batch = Math.Max(1, Math.Min(tokens, o.BatchTokens));
        // q, k, v, attention output, residual, norms (hidden wide) and gate, up, their product (intermediate wide).
        long forward = batch * (8 * h + 4 * f) * Math.Max(es, 4);
        long stats = o.Method == PruneMethod.SparseGpt ? (3 * h * h + f * f) * 4 : 0;
        long n = o.Method == PruneMethod.SparseGpt ? Math.Max(h, f) : 0;
        long factor = 2 * n * n * 4;
        long weight = 3 * h * f * 4; // transposed fp32 copy, scores and the masked result of the largest matrix
        long total = inputs + forward + stats + factor + weight;
        string parts = $"calibration inputs {MemoryStats.Format(inputs)}, one forward batch {MemoryStats.Format(forward)}" +
            (stats > 0 ? $", X^T X {MemoryStats.Format(stats)}, Hessian factor {MemoryStats.Format(factor)}" : "") +
            $", weight working copies {MemoryStats.Format(weight)}";
        return (total, parts);
    }

    public static string Describe(LlamaModel model, PruneOptions o, long tokens)
    {
        var (total, parts) = Estimate(model.Config, model.ComputeType, o, tokens);
        return $"one layer needs about {MemoryStats.Format(total)} besides the model's weights ({parts}); " +
            "fewer calibration samples (or shorter ones) lower it";
    }
}
