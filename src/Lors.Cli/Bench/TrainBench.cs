// The training-step benchmark behind `lors bench train`: the same protocol as the PyTorch anchor
// (shared/anchors/torch_lors_anchor.py): random-init Llama, 2:4 magnitude pruning of q/k/v/o/gate/up/down,
// rank-16 adapters, batch 1, labels = inputs, AdamW on the adapters; median of the timed steps after warm-up;
// peak = the backend allocator's peak over the training steps (reset after the model is built).
using System.Diagnostics;
using Lors.Autograd;
using Lors.Cli.Commands;
using Lors.Models.Formats;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Adapters;
using Lors.Train.Pruning;
using Lors.Train.Sparse;
using Lors.Train.Training;

namespace Lors.Cli.Bench;

public sealed record TrainBenchResult(string Shape, int SeqLen, int Batch, string Method, bool CheckpointLayers, string Device,
    double MedianStepMs, double TokensPerSecond, long PeakBytes, long ModelBytes, double[] StepsMs, double FirstLoss, double LastLoss, string? Profile,
    string Weights = "dense");

public static class TrainBench
{
    public static LlamaConfig Shape(string name, int? layers = null)
    {
        var c = name.ToLowerInvariant() switch
        {
            "tinyllama-1.1b" or "tinyllama" => Make(2048, 5632, 22, 32, 4, 32000, 10000),
            "llama2-7b" => Make(4096, 11008, 32, 32, 32, 32000, 10000),
            "llama2-13b" => Make(5120, 13824, 40, 40, 40, 32000, 10000),
            "llama3-8b" => Make(4096, 14336, 32, 32, 8, 128256, 500000),
            "llama2-70b" => Make(8192, 28672, 80, 64, 8, 32000, 10000),
            "tiny" => Make(256, 688, 6, 8, 4, 4096, 10000),
            _ => throw new ArgumentException($"--shape: unknown shape '{name}' (expected tinyllama-1.1b, llama2-7b, llama2-13b, llama3-8b, llama2-70b or tiny)"),
        };
        return layers is { } n ? c with { NumHiddenLayers = n } : c;
    }

    private static LlamaConfig Make(int h, int f, int layers, int heads, int kv, int vocab, double theta) => new()
    {
        VocabSize = vocab, HiddenSize = h, IntermediateSize = f, NumHiddenLayers = layers, NumAttentionHeads = heads,
        NumKeyValueHeads = kv, RmsNormEps = 1e-5, MaxPositionEmbeddings = 4096, RopeTheta = theta, TorchDType = "bfloat16",
    };

    public static TrainBenchResult Run(BenchCommand.Settings s)
    {
        var device = s.Device;
        var config = Shape(s.Shape, s.Layers);
        var dtype = device.IsCpu ? DType.F32 : DType.BF16;
        var backend = Backends.Get(device);
        var pattern = s.Pattern == "dense" ? null : SparsityPattern.Parse(s.Pattern);
        // Compressed 2:4 weights: the model is made layer by layer, each matrix pruned and compressed as it is made,
        // so the dense model never exists as a whole (a 70B shape would not fit one GPU dense).
        string weights = "dense";
        bool compress = Compression24.Wanted(Compression24.ParseMode(s.Compressed24), device);
        if (compress && (pattern is not SparsityPattern.NM { N: 2, M: 4 } || s.Method is not ("lors" or "none")))
        {
            weights = $"dense (--compressed-24 needs --pattern 2:4 and --method lors or none, got {s.Pattern} and {s.Method})";
            if (Compression24.ParseMode(s.Compressed24) == Compressed24Mode.On) Console.Error.WriteLine(weights);
            compress = false;
        }
        using var model = compress
            ? LlamaModel.CreateRandom(config, 1, device, dtype, (name, w) => Compression24.PruneAndMake(name, w, pattern, compress: true))
            : LlamaModel.CreateRandom(config, 1, device, dtype);
        if (compress) weights = "2:4 compressed";
        else if (pattern is not null)
            Pruner.Prune(model, new PruneOptions { Method = PruneMethod.Magnitude, Pattern = pattern }, null);
        // Resident weight bytes: dense parameters plus compressed values and metadata.
        long modelBytes = model.Parameters(skipCompressed: true).Sum(p => p.value.Data.ByteCount) +
            model.Linears().Select(x => x.linear).OfType<Compressed24Linear>().Sum(c => c.Compressed.ByteCount);
        bool adapters = s.Method != "none";
        using var set = adapters ? AdapterSet.Attach(model, new AdapterConfig { Method = FinetuneCommand.ParseMethod(s.Method), Rank = s.Rank, Alpha = s.Rank, Init = AdapterInit.Lora }) : null;
        if (s.CheckpointLayers)
            model.LayerRunner = (layer, x, cos, sin) => Recompute.Run(v => layer.Forward(v[0], cos, sin), [x],
                Projections.All.Select(p => layer[p]).OfType<AdaptedLinear>().SelectMany(a => new[] { a.A, a.B }).ToList());
        using var opt = set is null ? null : new AdamW(set.Parameters, 0.9, 0.999, 1e-8, 0);
        var ids = new int[s.Batch * s.SeqLen];
        for (int i = 0; i < ids.Length; i++) ids[i] = (int)(Lors.Tensors.Rng.Hash(7, (ulong)i) % (ulong)config.VocabSize);
        using var input = Tensor.FromArray(ids, [s.Batch, s.SeqLen], device);
        backend.Memory.ResetPeak();
        var times = new List<double>();
        double first = double.NaN, last = double.NaN;
        string? profile = null;
        for (int step = 0; step < s.Warmup + s.Steps; step++)
        {
            bool profiling = s.Profile && step == s.Warmup;
            if (profiling) Profiler.Start(() => Lors.Conformance.BackendConformance.Synchronize(device));
            var sw = Stopwatch.StartNew();
            using (var scope = TensorScope.Begin())
            {
                Variable loss;
                if (adapters) loss = model.Loss(input);
                else
                {
                    // No trainable parameters: make the embedding output a leaf so backward runs through every layer.
                    var embedLeaf = new Variable(model.Embed.Data, true);
                    var saved = model.Embed;
                    model.Embed = embedLeaf;
                    try { loss = model.Loss(input); } finally { model.Embed = saved; }
                }
                loss.Backward();
                double value = loss.Data.Item(); // synchronizes the device
                if (step == 0) first = value;
                last = value;
                opt?.Step(1e-4);
                opt?.ZeroGrad();
                if (!adapters) model.Embed.ZeroGrad();
            }
            Lors.Conformance.BackendConformance.Synchronize(device);
            if (step >= s.Warmup) times.Add(sw.Elapsed.TotalMilliseconds);
            if (profiling) profile = Profiler.Stop();
        }
        model.LayerRunner = null;
        var sorted = times.OrderBy(x => x).ToArray();
        double median = sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        return new TrainBenchResult(s.Shape, s.SeqLen, s.Batch, s.Method, s.CheckpointLayers, backend.Description, median,
            s.Batch * s.SeqLen / (median / 1000), backend.Memory.PeakBytes, modelBytes, times.ToArray(), first, last, profile, weights);
    }
}
