// The calibration activations [B, T, C] entering the current decoder layer, in forward batches, plus the RoPE
// tables for T positions. Capture runs a layer with recording wrappers; Propagate replaces the inputs by the
// (pruned) layer's outputs, so the next layer calibrates on what the pruned model really produces.
using Lors.Autograd;
using Lors.Models.Formats;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Train.Pruning;

internal sealed class LayerInputs : IDisposable
{
    private readonly List<Tensor> _batches = new();
    private readonly Tensor _cos, _sin;

    public LayerInputs(LlamaModel model, IReadOnlyList<int[]> samples, int batchTokens)
    {
        var c = model.Config;
        int t = samples[0].Length, perBatch = Math.Max(1, batchTokens / t);
        Tokens = (long)samples.Count * t;
        using var _ = TensorScope.Detached();
        var cos = new float[t * c.HeadDim];
        var sin = new float[t * c.HeadDim];
        Rope.CosSin(c, t, cos, sin);
        var ropeType = model.ComputeType == DType.F64 ? DType.F64 : DType.F32; // as LlamaModel keeps its tables
        _cos = Tensor.FromArray(cos, [t, c.HeadDim], model.Device, ropeType);
        _sin = Tensor.FromArray(sin, [t, c.HeadDim], model.Device, ropeType);
        for (int s0 = 0; s0 < samples.Count; s0 += perBatch)
        {
            int b = Math.Min(perBatch, samples.Count - s0);
            var ids = new int[b * t];
            for (int i = 0; i < b; i++) samples[s0 + i].CopyTo(ids, i * t);
            using var idsT = Tensor.FromArray(ids, [b, t], model.Device);
            _batches.Add(F.Embedding(idsT, model.Embed).Data);
        }
    }

    public long Tokens { get; }

    /// <summary>Runs the layer over all batches with capturing wrappers on its seven linears; returns statistics by input owner.</summary>
    /// <summary>deviceGram: X^T X stays on the model's device in fp32 (the device path).</summary>
    public Dictionary<Projection, InputStatistics> Capture(LlamaLayer layer, bool gram, bool deviceGram = false)
    {
        var stats = new Dictionary<Projection, InputStatistics>();
        var originals = Projections.All.ToDictionary(p => p, p => layer[p]);
        try
        {
            foreach (var p in Projections.All)
            {
                var owner = Pruner.InputOwner(p);
                InputStatistics? s = null;
                if (owner == p) stats[p] = s = new InputStatistics(layer[p].InFeatures, gram, deviceGram ? _cos.Device : null);
                layer[p] = new CapturingLinear(originals[p], s);
            }
            foreach (var x in _batches)
            {
                using var scope = TensorScope.Begin();
                layer.Forward(new Variable(x), _cos, _sin);
            }
        }
        finally
        {
            foreach (var (p, l) in originals) layer[p] = l;
        }
        return stats;
    }

    /// <summary>Replaces each batch of inputs by the layer's output.</summary>
    public void Propagate(LlamaLayer layer)
    {
        foreach (var x in _batches)
        {
            using var scope = TensorScope.Begin();
            var y = layer.Forward(new Variable(x), _cos, _sin);
            Ops.CopyInto(y.Data, x);
        }
    }

    public void Dispose()
    {
        foreach (var b in _batches) b.Dispose();
        _cos.Dispose();
        _sin.Dispose();
    }
}
