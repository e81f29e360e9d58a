// The pruning benchmark behind `lors bench prune`: a random-init Llama of a real shape on the device (bf16 on CUDA),
// random calibration tokens (samples x T), one Pruner.Prune; wall time split into embedding, calibration forwards
// and solve (scores + masks, or Hessian factors + OBS), the engine, peak device memory and the pattern check.
using System.Diagnostics;
using Lors.Cli.Commands;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Pruning;

namespace Lors.Cli.Bench;

public sealed record PruneBenchResult(string Shape, string Method, string Pattern, int Samples, int SeqLen, string Device, string Engine,
    double Seconds, double EmbedSeconds, double CalibrationForwardSeconds, double SolveSeconds, double CheckSeconds,
    double SlowestLayerSeconds, long PeakBytes, long ModelBytes, double Sparsity, bool PatternOk);

public static class PruneBench
{
    public static PruneBenchResult Run(BenchCommand.Settings s)
    {
        var method = PruneOptions.ParseMethod(s.Method);
        var pattern = SparsityPattern.Parse(s.Pattern);
        var device = s.Device;
        var config = TrainBench.Shape(s.Shape, s.Layers);
        var backend = Backends.Get(device);
        using var model = LlamaModel.CreateRandom(config, 1, device, device.IsCpu ? DType.F32 : DType.BF16);
        long modelBytes = model.Parameters().Sum(p => p.value.Data.ByteCount);
        IReadOnlyList<int[]>? calibration = null;
        if (method != PruneMethod.Magnitude)
            calibration = Enumerable.Range(0, s.CalibSamples).Select(i =>
                Enumerable.Range(0, s.SeqLen).Select(t => (int)(Lors.Tensors.Rng.Hash(11, (ulong)(i * s.SeqLen + t)) % (ulong)config.VocabSize)).ToArray()).ToArray();
        backend.Memory.ResetPeak();
        var r = Pruner.Prune(model, new PruneOptions { Method = method, Pattern = pattern }, calibration);
        long peak = backend.Memory.PeakBytes;
        var sw = Stopwatch.StartNew();
        bool ok = SparsityCheck.Check(model, pattern).Ok;
        return new PruneBenchResult(s.Shape, method.ToString(), pattern.ToString(), calibration?.Count ?? 0, calibration is null ? 0 : s.SeqLen,
            device.ToString(), r.Engine.ToString(), r.Elapsed.TotalSeconds, r.Embed.TotalSeconds, r.CalibrationForward.TotalSeconds,
            r.Solve.TotalSeconds, sw.Elapsed.TotalSeconds, r.Layers.Max(l => l.Elapsed.TotalSeconds), peak, modelBytes, r.Sparsity, ok);
    }
}
