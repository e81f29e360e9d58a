// One fine-tuning run end to end: datasets, adapters, the gradient-based init, the trainer, the adapter files.
// The CLI's `finetune` and `demo` and library users call this; each step is also usable on its own.
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Lors.Tensors;
using Lors.Train.Adapters;
using Lors.Train.Data;
using Lors.Train.Init;
using Lors.Train.Training;

namespace Lors.Train.FineTuning;

public enum DataFormat { Text, Alpaca }

public sealed record FineTuneSpec
{
    public required string DataPath { get; init; }
    public DataFormat Format { get; init; } = DataFormat.Text;
    public AlpacaMode AlpacaMode { get; init; } = AlpacaMode.Padding;
    /// <summary>Fraction of the examples held out for evaluation (0 = none).</summary>
    public double ValidationFraction { get; init; } = 0.05;
    public required AdapterConfig Adapter { get; init; }
    public required TrainOptions Train { get; init; }
    /// <summary>Continue from OutDir's checkpoint.</summary>
    public bool Resume { get; init; }
    /// <summary>Checkpoint whole decoder layers (recompute activations in backward) on top of the adapter method.</summary>
    public bool CheckpointLayers { get; init; }
    /// <summary>Limit on the training examples read (for quick runs); null = all.</summary>
    public int? MaxExamples { get; init; }
    /// <summary>Store the 2:4 base weights compressed for training (auto: on CUDA); after the gradient init, which needs them dense.</summary>
    public Sparse.Compressed24Mode Compressed24 { get; init; } = Sparse.Compressed24Mode.Off;
}

public sealed record FineTuneOutcome(TrainResult Result, AdapterSet Adapters, GradientInit.Report? Init, string AdapterDir, string MetricsPath,
    string? PlotPath, int TrainExamples, int ValidationExamples, long PeakBytes, TimeSpan Elapsed, double MeanStepSeconds, string Weights = "dense");

public static class FineTuneJob
{
    public const string AdapterFolder = "adapter";

    /// <summary>Attaches adapters to <paramref name="model"/>, initializes them and trains. The caller disposes Adapters.</summary>
    public static FineTuneOutcome Run(LlamaModel model, Tokenizer tokenizer, FineTuneSpec spec, IProgress<TrainProgress>? progress = null,
        IProgress<string>? status = null, CancellationToken ct = default)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        if (!File.Exists(spec.DataPath)) throw new FileNotFoundException($"data file '{spec.DataPath}' does not exist", spec.DataPath);
        var opts = spec.Train;
        if (opts.SeqLen > model.Config.MaxPositionEmbeddings)
            throw new ArgumentOutOfRangeException("seq-len", $"--seq-len {opts.SeqLen} exceeds the model's max_position_embeddings {model.Config.MaxPositionEmbeddings}");
        var encoder = TokenEncoder.From(tokenizer);
        status?.Report($"reading {Path.GetFileName(spec.DataPath)}");
        var all = spec.Format == DataFormat.Alpaca
            ? AlpacaDataset.Load(spec.DataPath, encoder, opts.SeqLen, spec.AlpacaMode)
            : TextDataset.Load(spec.DataPath, encoder, opts.SeqLen);
        if (spec.MaxExamples is { } max && max < all.Count) all = new SequenceDataset(all.SeqLen, Enumerable.Range(0, max).Select(i => all[i]));
        var (train, val) = spec.ValidationFraction > 0 ? all.Split(spec.ValidationFraction, opts.Seed) : (all, new SequenceDataset(all.SeqLen, []));
        if (train.Count == 0) throw new ArgumentException($"{spec.DataPath}: no training examples of {opts.SeqLen} tokens");
        if (train.Count < opts.BatchSize)
            throw new ArgumentException($"--data: '{spec.DataPath}' gives {train.Count} training blocks of {opts.SeqLen} tokens " +
                $"(after the validation split and --max-examples), fewer than one batch of {opts.BatchSize} (--batch)");

        if (spec.CheckpointLayers)
            model.LayerRunner = (layer, x, cos, sin) => Autograd.Recompute.Run(v => layer.Forward(v[0], cos, sin), [x], LayerParameters(layer));
        var adapters = AdapterSet.Attach(model, spec.Adapter with { BaseModel = spec.Adapter.BaseModel });
        GradientInit.Report? init = null;
        var backend = Backends.Get(model.Device);
        backend.Memory.ResetPeak();
        try
        {
            if (spec.Adapter.Init == AdapterInit.Gradient && !spec.Resume)
            {
                status?.Report($"gradient init over {Math.Min(spec.Adapter.InitSamples, train.Count)} samples");
                init = GradientInit.Run(model, adapters, InitBatches(train, spec.Adapter.InitSamples, opts.BatchSize, model.Device));
            }
            string weights = "dense";
            if (Sparse.Compression24.Wanted(spec.Compressed24, model.Device))
            {
                weights = spec.Adapter.Method != AdapterMethod.Lors
                    ? $"dense weights: --compressed-24 applies to the lors method, not {spec.Adapter.Method}"
                    : adapters.CompressBase().Describe();
                status?.Report(weights);
            }
            var adapterDir = Path.Combine(opts.OutDir, AdapterFolder);
            using var trainer = new Trainer(adapters.Parameters, b =>
            {
                var (ids, labels) = b.ToTensors(model.Device);
                return model.Loss(ids, labels);
            }, train, val, opts, saveAdapters: _ => adapters.Save(adapterDir), runInfo: RunInfo(spec, model));
            if (spec.Resume) trainer.Resume();
            status?.Report("training");
            var stepTimes = new List<double>();
            var last = sw.Elapsed;
            var result = trainer.Run(new InlineProgress(p =>
            {
                stepTimes.Add((sw.Elapsed - last).TotalSeconds);
                last = sw.Elapsed;
                progress?.Report(p);
            }), ct);
            adapters.Save(adapterDir);
            string? plot = null;
            try { trainer.WritePlot(); plot = Path.Combine(opts.OutDir, "loss.png"); } catch (IOException) { }
            double meanStep = stepTimes.Count > 1 ? stepTimes.Skip(1).Average() : stepTimes.DefaultIfEmpty(0).Average();
            return new FineTuneOutcome(result, adapters, init, adapterDir, trainer.MetricsPath, plot, train.Count, val.Count,
                backend.Memory.PeakBytes, sw.Elapsed, meanStep, weights);
        }
        catch
        {
            adapters.Dispose();
            throw;
        }
        finally
        {
            model.LayerRunner = null;
        }
    }

    /// <summary>
    /// What decides a fine-tuning run's result beyond the trainer options: the adapter settings, the data (path and SHA-256)
    /// and the model (path, hash of config.json and the safetensors headers), the device and dtype. A checkpoint records it.
    /// </summary>
    public static Dictionary<string, string> RunInfo(FineTuneSpec spec, LlamaModel model)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        var a = spec.Adapter;
        var run = new Dictionary<string, string>
        {
            ["method"] = a.Method.ToString(), ["rank"] = $"{a.Rank}", ["alpha"] = a.Alpha.ToString("R", c), ["gamma"] = a.Gamma.ToString("R", c),
            ["targets"] = string.Join(",", a.Targets.Select(t => t.ToString())), ["init"] = a.Init.ToString(), ["init_samples"] = $"{a.InitSamples}",
            ["lors_gradient"] = $"{a.Gradient}", ["adapter_seed"] = $"{a.Seed}",
            ["data"] = Path.GetFullPath(spec.DataPath), ["data_sha256"] = FileHash(spec.DataPath), ["format"] = spec.Format.ToString(),
            ["alpaca_mode"] = spec.AlpacaMode.ToString(), ["val_fraction"] = spec.ValidationFraction.ToString("R", c),
            ["max_examples"] = spec.MaxExamples?.ToString(c) ?? "all",
            ["device"] = model.Device.ToString(), ["dtype"] = model.ComputeType.ToString(),
        };
        if (a.BaseModel is { } m)
        {
            run["model"] = Path.GetFullPath(m);
            run["model_hash"] = ModelHash(m);
        }
        return run;
    }

    /// <summary>SHA-256 (hex, 16 chars) of a file's bytes.</summary>
    public static string FileHash(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(fs))[..16];
    }

    /// <summary>SHA-256 of config.json, the weights index and each safetensors file's size and header (cheap for any model size).</summary>
    public static string ModelHash(string dir)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var name in new[] { "config.json", "model.safetensors.index.json" })
            if (File.Exists(Path.Combine(dir, name))) sha.AppendData(File.ReadAllBytes(Path.Combine(dir, name)));
        foreach (var file in Directory.EnumerateFiles(dir, "*.safetensors").Order(StringComparer.Ordinal))
        {
            using var fs = File.OpenRead(file);
            var head = new byte[(int)Math.Min(fs.Length, 1 << 20)];
            fs.ReadExactly(head);
            sha.AppendData(BitConverter.GetBytes(fs.Length));
            sha.AppendData(head);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    /// <summary>The first N training examples, in order, as micro-batches.</summary>
    public static IEnumerable<(Tensor ids, Tensor labels)> InitBatches(SequenceDataset train, int samples, int batchSize, Device device)
    {
        int n = Math.Min(samples, train.Count);
        for (int i = 0; i < n; i += batchSize)
        {
            var idx = Enumerable.Range(i, Math.Min(batchSize, n - i)).ToArray();
            yield return train.GetBatch(idx).ToTensors(device);
        }
    }

    private static IReadOnlyList<Autograd.Variable> LayerParameters(LlamaLayer layer) =>
        Projections.All.Select(p => layer[p]).OfType<AdaptedLinear>().SelectMany(a => new[] { a.A, a.B }).ToList();

    /// <summary>Reports synchronously on the training thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class InlineProgress(Action<TrainProgress> report) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => report(value);
    }
}
