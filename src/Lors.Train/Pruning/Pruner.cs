// Prunes the q/k/v/o/gate/up/down weights of every decoder layer of a Llama in place (exact zeros, dtype kept).
// Wanda and SparseGPT calibrate layer by layer: layer i sees the outputs of the already-pruned layers 0..i-1.
using System.Diagnostics;
using Lors.Autograd;
using Lors.Models.Formats;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Tensors.Cuda;

namespace Lors.Train.Pruning;

public static class Pruner
{
    /// <summary>
    /// Prunes <paramref name="model"/> in place. <paramref name="calibration"/> holds token id samples of one common
    /// length (at most max_position_embeddings); magnitude pruning ignores it, Wanda and SparseGPT require it.
    /// </summary>
    public static PruneResult Prune(LlamaModel model, PruneOptions options, IReadOnlyList<int[]>? calibration, IProgress<PruneProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        Validate(model, options, calibration);
        var sw = Stopwatch.StartNew();
        int layers = model.Layers.Count;
        var matrices = new List<MatrixPruneStats>();
        var layerStats = new List<LayerPruneStats>();
        void Report(int layer, string stage) => progress?.Report(new PruneProgress(layer, layers, stage, sw.Elapsed));

        bool onDevice = UseDevice(model, options);
        using var noGrad = GradMode.NoGrad();
        using var calib = options.Method == PruneMethod.Magnitude ? null : new LayerInputs(model, calibration!, options.BatchTokens);
        Synchronize(model.Device);
        var embed = sw.Elapsed;
        for (int li = 0; li < layers; li++)
        {
            var layer = model.Layers[li];
            var watch = Stopwatch.StartNew();
            Dictionary<Projection, InputStatistics>? stats = null;
            var factors = new Dictionary<Projection, HessianFactor>();
            var deviceFactors = new Dictionary<Projection, DeviceHessianFactor>();
            try
            {
                if (calib is not null)
                {
                    Report(li, "calibrate");
                    stats = calib.Capture(layer, gram: options.Method == PruneMethod.SparseGpt, deviceGram: onDevice);
                    Synchronize(model.Device);
                }
                var capture = watch.Elapsed;
                Report(li, "prune");
                long weights = 0, zeros = 0;
                foreach (var p in Projections.All)
                {
                    var s = onDevice ? PruneMatrixOnDevice(layer, p, options, stats, deviceFactors) : PruneMatrix(layer, p, options, stats, factors);
                    matrices.Add(s);
                    weights += (long)s.Rows * s.Cols;
                    zeros += s.Zeros;
                }
                DisposeAll(stats, deviceFactors);
                stats = null;
                var solve = watch.Elapsed - capture;
                if (calib is not null && li + 1 < layers)
                {
                    Report(li, "propagate");
                    calib.Propagate(layer);
                    Synchronize(model.Device);
                }
                layerStats.Add(new LayerPruneStats(li, weights, zeros, capture, solve, watch.Elapsed - capture - solve));
            }
            catch (OutOfMemoryException e) when (!model.Device.IsCpu)
            {
                throw new OutOfMemoryException(
                    $"pruning layer {li} on {model.Device} ran out of device memory; {DeviceMemory.Describe(model, options, calib?.Tokens ?? 0)}. {e.Message}", e);
            }
            finally
            {
                DisposeAll(stats, deviceFactors);
            }
            Report(li, "done");
        }
        return new PruneResult(options.Method, options.Pattern, matrices, layerStats, calib?.Tokens ?? 0, sw.Elapsed)
        {
            Engine = onDevice ? PruneEngine.Device : PruneEngine.Host,
            Embed = embed,
        };
    }

    /// <summary>Waits for queued device work, so the phase times are the work's own (CUDA launches are asynchronous).</summary>
    private static void Synchronize(Device device)
    {
        if (!device.IsCpu && Backends.Get(device) is CudaBackend cuda) cuda.Synchronize();
    }

    /// <summary>The device path runs when asked for, or by default on a CUDA model.</summary>
    internal static bool UseDevice(LlamaModel model, PruneOptions o) =>
        o.Engine == PruneEngine.Device || (o.Engine == PruneEngine.Auto && !model.Device.IsCpu);

    private static void DisposeAll(Dictionary<Projection, InputStatistics>? stats, Dictionary<Projection, DeviceHessianFactor> factors)
    {
        if (stats is not null) foreach (var s in stats.Values) s.Dispose();
        foreach (var f in factors.Values) f.Dispose();
        factors.Clear();
    }

    /// <summary>One matrix through backend ops on its own device (see DeviceScorePruning, DeviceSparseGpt).</summary>
    private static MatrixPruneStats PruneMatrixOnDevice(LlamaLayer layer, Projection p, PruneOptions o, Dictionary<Projection, InputStatistics>? stats,
        Dictionary<Projection, DeviceHessianFactor> factors)
    {
        var watch = Stopwatch.StartNew();
        var linear = layer[p];
        var weight = linear.Weight.Data;
        int rows = linear.OutFeatures, cols = linear.InFeatures;
        double loss = double.NaN;
        switch (o.Method)
        {
            case PruneMethod.Magnitude:
                DeviceScorePruning.Magnitude(weight, o.Pattern, o.MagnitudeScope);
                break;
            case PruneMethod.Wanda:
                DeviceScorePruning.Wanda(weight, stats![InputOwner(p)].ColumnSumSquares, o.Pattern);
                break;
            case PruneMethod.SparseGpt:
                var owner = InputOwner(p);
                if (!factors.TryGetValue(owner, out var f))
                {
                    var st = stats![owner];
                    factors[owner] = f = DeviceHessianFactor.Compute(st.DeviceGram!, st.Tokens, o.Dampening);
                    st.Dispose(); // X^T X is not needed once factored: one Hessian-sized buffer less
                }
                loss = DeviceSparseGpt.Prune(weight, f, o.Pattern, o.BlockSize);
                break;
        }
        long zeros = DeviceScorePruning.CountZeros(weight);
        return new MatrixPruneStats(layer.Index, p, linear.Name, rows, cols, zeros, loss, watch.Elapsed);
    }

    /// <summary>Which projection's input statistics a projection uses: q/k/v read the same normed input, as do gate/up.</summary>
    internal static Projection InputOwner(Projection p) => p switch
    {
        Projection.K or Projection.V => Projection.Q,
        Projection.Up => Projection.Gate,
        _ => p,
    };

    private static MatrixPruneStats PruneMatrix(LlamaLayer layer, Projection p, PruneOptions o, Dictionary<Projection, InputStatistics>? stats,
        Dictionary<Projection, HessianFactor> factors)
    {
        var watch = Stopwatch.StartNew();
        var linear = layer[p];
        var weight = linear.Weight.Data;
        int rows = linear.OutFeatures, cols = linear.InFeatures;
        var w = weight.ToFloatArray();
        double loss = double.NaN;
        switch (o.Method)
        {
            case PruneMethod.Magnitude:
                ScorePruning.Magnitude(w, rows, cols, o.Pattern, o.MagnitudeScope);
                break;
            case PruneMethod.Wanda:
                ScorePruning.Wanda(w, rows, cols, stats![InputOwner(p)].ColumnSumSquares, o.Pattern);
                break;
            case PruneMethod.SparseGpt:
                var owner = InputOwner(p);
                if (!factors.TryGetValue(owner, out var f))
                    factors[owner] = f = HessianFactor.Compute(stats![owner].Hessian(), cols, o.Dampening);
                loss = SparseGpt.Prune(w, rows, cols, f, o.Pattern, o.BlockSize);
                break;
        }
        using (var src = Tensor.FromArray(w, [rows, cols], weight.Device))
            Ops.CopyInto(src, weight);
        long zeros = 0;
        foreach (var v in w) if (v == 0) zeros++;
        return new MatrixPruneStats(layer.Index, p, linear.Name, rows, cols, zeros, loss, watch.Elapsed);
    }

    private static void Validate(LlamaModel model, PruneOptions o, IReadOnlyList<int[]>? calibration)
    {
        if (o.Pattern is null) throw new ArgumentNullException(nameof(o.Pattern), "PruneOptions.Pattern is required");
        if (o.BlockSize < 1) throw new ArgumentOutOfRangeException(nameof(o.BlockSize), o.BlockSize, "block size must be positive");
        if (!(o.Dampening >= 0)) throw new ArgumentOutOfRangeException(nameof(o.Dampening), o.Dampening, "dampening must be >= 0");
        if (o.BatchTokens < 1) throw new ArgumentOutOfRangeException(nameof(o.BatchTokens), o.BatchTokens, "batch tokens must be positive");
        foreach (var (_, _, linear) in model.Linears()) o.Pattern.Validate(linear.InFeatures, linear.Name);
        if (o.Method == PruneMethod.Magnitude) return;
        if (calibration is null || calibration.Count == 0)
            throw new ArgumentException($"{o.Method} needs calibration samples (none given)", nameof(calibration));
        int t = calibration[0]?.Length ?? 0, max = model.Config.MaxPositionEmbeddings, vocab = model.Config.VocabSize;
        if (t < 1) throw new ArgumentException("calibration sample 0 is empty", nameof(calibration));
        if (t > max) throw new ArgumentException($"calibration samples have {t} tokens, more than max_position_embeddings {max}", nameof(calibration));
        for (int i = 0; i < calibration.Count; i++)
        {
            var s = calibration[i];
            if (s is null || s.Length != t)
                throw new ArgumentException($"calibration sample {i} has {s?.Length ?? 0} tokens; all samples must have {t}", nameof(calibration));
            foreach (var id in s)
                if ((uint)id >= (uint)vocab) throw new ArgumentException($"calibration sample {i} holds token id {id}, outside the vocabulary [0, {vocab})", nameof(calibration));
        }
    }
}
