// The slow reference of the gradient init (the path before it moved to the device): ordinary autograd leaf weights
// collect dL/dW in the weights' dtype, then the host-orthonormalized randomized SVD. Tests hold the fast path to it.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Adapters;

namespace Lors.Train.Init;

public static partial class GradientInit
{
    /// <param name="batches">Micro-batches of (ids, labels) [B, T] covering the first N samples.</param>
    public static Report RunReference(LlamaModel model, AdapterSet adapters, IEnumerable<(Tensor ids, Tensor labels)> batches, IProgress<(int done, int total)>? progress = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var config = adapters.Config;
        // Stand-in linears whose weight variable requires grad, so backward produces the dense dL/dW.
        var probes = new List<(AdaptedLinear adapter, LlamaLayer layer, Projection p, Variable weight)>();
        foreach (var (layer, p, linear) in model.Linears().ToList())
        {
            if (linear is not AdaptedLinear a) continue;
            var w = new Variable(a.Weight.Data, requiresGrad: true, a.Name);
            layer[p] = new Linear(a.Name, w);
            probes.Add((a, layer, p, w));
        }
        int samples = 0, count = 0;
        try
        {
            foreach (var (ids, labels) in batches)
            {
                using var scope = TensorScope.Begin();
                var loss = model.Loss(ids, labels);
                if (!double.IsFinite(loss.Data.Item())) throw new InvalidOperationException("gradient init: the loss is not finite on the pruned model");
                loss.Backward();
                samples += ids.Shape[0];
                count++;
            }
            if (count == 0) throw new ArgumentException("gradient init: no training samples");
            var layers = new List<(string, double)>();
            int done = 0;
            foreach (var (a, layer, p, w) in probes)
            {
                using var scope = TensorScope.Begin();
                var g = w.Grad!;
                Ops.ScaleInPlace(g, 1.0 / count);
                var (sigma, vt) = Svd.Randomized(g, config.Rank, config.Seed + (ulong)done * 31 + 1);
                var b = new float[vt.Length];
                for (int i = 0; i < b.Length; i++) b[i] = (float)(vt[i] / config.Gamma);
                using var bt = Tensor.FromArray(b, a.B.Shape, a.B.Data.Device);
                Ops.CopyInto(bt, a.B.Data);
                Ops.FillInPlace(a.A.Data, 0);
                layers.Add((a.Name, sigma[0]));
                w.ZeroGrad();
                progress?.Report((++done, probes.Count));
            }
            return new Report(samples, count, sw.Elapsed, layers) { Passes = 1 };
        }
        finally
        {
            foreach (var (a, layer, p, w) in probes)
            {
                layer[p] = a;
                w.ZeroGrad();
            }
        }
    }
}
