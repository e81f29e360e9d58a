// The LoRS adapter init on the model's device: average the dense weight gradient dL/dW of every adapted layer over
// the first N training samples of the pruned model (fp32 accumulators [out, in] on the device, filled by the probes'
// backward), then A = 0 and B = (top-r right singular vectors of that mean)^T / gamma by the device randomized SVD.
// When the accumulators of all layers exceed the memory budget, layers are taken in groups, one pass over the samples each.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Adapters;

namespace Lors.Train.Init;

public static partial class GradientInit
{
    public sealed record Report(int Samples, int Batches, TimeSpan Elapsed, IReadOnlyList<(string Name, double TopSigma)> Layers)
    {
        /// <summary>Passes over the samples (one per group of layers whose accumulators fit the budget).</summary>
        public int Passes { get; init; }
        /// <summary>The largest set of fp32 accumulators held at once, in bytes.</summary>
        public long AccumulatorBytes { get; init; }
        public TimeSpan GradientTime { get; init; }
        public TimeSpan SvdTime { get; init; }
    }

    /// <summary>Default accumulator budget off the CPU: LORS_INIT_BUDGET_GB, else 40 GB (all of a 7B/8B model's 224
    /// matrices take 26-28 GB in fp32; the rest of an 80 GB or larger device holds the model and the activations).</summary>
    public static long DefaultBudget(Device device)
    {
        if (device.IsCpu) return long.MaxValue;
        var env = Environment.GetEnvironmentVariable("LORS_INIT_BUDGET_GB");
        return env is not null && double.TryParse(env, System.Globalization.CultureInfo.InvariantCulture, out var gb) && gb > 0
            ? (long)(gb * (1L << 30)) : 40L << 30;
    }

    /// <param name="batches">Micro-batches of (ids, labels) [B, T] covering the first N samples; enumerated once per pass.</param>
    /// <param name="budgetBytes">Most fp32 accumulator bytes held at once (default <see cref="DefaultBudget"/>).</param>
    public static Report Run(LlamaModel model, AdapterSet adapters, IEnumerable<(Tensor ids, Tensor labels)> batches,
        IProgress<(int done, int total)>? progress = null, long? budgetBytes = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var config = adapters.Config;
        var targets = model.Linears().Where(x => x.linear is AdaptedLinear).Select((x, i) => (x.layer, x.projection, adapter: (AdaptedLinear)x.linear, index: i)).ToList();
        if (targets.Count == 0) return new Report(0, 0, sw.Elapsed, []);
        long budget = budgetBytes ?? DefaultBudget(model.Device);
        var groups = GroupByLayer(targets.Select(t => (t.layer.Index, Bytes: 4L * t.adapter.OutFeatures * t.adapter.InFeatures)).ToList(), budget);
        var layers = new List<(string, double)>();
        TimeSpan gradTime = default, svdTime = default;
        int samples = 0, count = 0, done = 0;
        long maxHeld = 0;
        foreach (var group in groups)
        {
            var t0 = sw.Elapsed;
            var inGroup = targets.Where(t => group.Contains(t.layer.Index)).ToList();
            var probes = new List<GradientProbe>();
            // Layers outside the group run as plain frozen linears: no adapter gradients are computed for them.
            var swapped = targets.Select(t => (t.layer, t.projection, t.adapter)).ToList();
            try
            {
                using (TensorScope.Detached())
                    foreach (var (layer, p, a) in swapped)
                        if (group.Contains(layer.Index)) { var probe = new GradientProbe(a); probes.Add(probe); layer[p] = probe; }
                        else layer[p] = new Linear(a.Name, a.Weight);
                maxHeld = Math.Max(maxHeld, probes.Sum(pr => pr.Accumulator.ByteCount));
                (samples, count) = (0, 0);
                foreach (var (ids, labels) in batches)
                {
                    using (var scope = TensorScope.Begin())
                    {
                        var loss = model.Loss(ids, labels);
                        if (!double.IsFinite(loss.Data.Item())) throw new InvalidOperationException("gradient init: the loss is not finite on the pruned model");
                        loss.Backward();
                    }
                    samples += ids.Shape[0];
                    count++;   // the batches belong to the caller (a list may be enumerated again for the next group)
                }
                if (count == 0) throw new ArgumentException("gradient init: no training samples");
                var t1 = sw.Elapsed;
                gradTime += t1 - t0;
                for (int i = 0; i < inGroup.Count; i++)
                {
                    var (_, _, a, index) = inGroup[i];
                    using var scope = TensorScope.Begin();
                    var g = probes[i].Accumulator;
                    Ops.ScaleInPlace(g, 1.0 / count);
                    var (sigma, vt) = Svd.RandomizedOnDevice(g, config.Rank, config.Seed + (ulong)index * 31 + 1);
                    Ops.ScaleInPlace(vt, 1.0 / config.Gamma);
                    Ops.CopyInto(vt, a.B.Data);
                    Ops.FillInPlace(a.A.Data, 0);
                    layers.Add((a.Name, sigma[0]));
                    progress?.Report((++done, targets.Count));
                }
                svdTime += sw.Elapsed - t1;
            }
            finally
            {
                foreach (var (layer, p, a) in swapped) layer[p] = a;
                foreach (var probe in probes) probe.Dispose();
            }
        }
        return new Report(samples, count, sw.Elapsed, layers) { Passes = groups.Count, AccumulatorBytes = maxHeld, GradientTime = gradTime, SvdTime = svdTime };
    }

    /// <summary>Consecutive whole layers whose accumulators together fit the budget (a layer larger than it goes alone).</summary>
    internal static List<HashSet<int>> GroupByLayer(IReadOnlyList<(int Layer, long Bytes)> matrices, long budget)
    {
        var perLayer = matrices.GroupBy(m => m.Layer).OrderBy(g => g.Key).Select(g => (g.Key, Bytes: g.Sum(m => m.Bytes))).ToList();
        var groups = new List<HashSet<int>>();
        long held = 0;
        foreach (var (layer, bytes) in perLayer)
        {
            if (groups.Count == 0 || held + bytes > budget) { groups.Add([]); held = 0; }
            groups[^1].Add(layer);
            held += bytes;
        }
        return groups;
    }
}
