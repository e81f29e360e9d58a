// Switching a model's decoder linears between dense [out, in] weights and compressed 2:4 storage (Compressed24Linear:
// values [out, in/2] + metadata), and the --compressed-24 auto|on|off decision. Compress before adapters are attached;
// restore (dense again) before anything that needs dense Variables: saving a folder, pruning, the gradient init.
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Train.Sparse;

public enum Compressed24Mode { Auto, On, Off }

public static class Compression24
{
    public static Compressed24Mode ParseMode(string? text) => (text ?? "auto").ToLowerInvariant() switch
    {
        "auto" => Compressed24Mode.Auto,
        "on" => Compressed24Mode.On,
        "off" => Compressed24Mode.Off,
        _ => throw new ArgumentException($"--compressed-24: expected auto, on or off, got '{text}'"),
    };

    /// <summary>Whether to try compressing: auto on CUDA only (it saves device memory; on the CPU the dense path is faster), on anywhere.</summary>
    public static bool Wanted(Compressed24Mode mode, Device device) => mode == Compressed24Mode.On || (mode == Compressed24Mode.Auto && !device.IsCpu);

    /// <summary>The outcome: how many linears were compressed, the bytes before and after, or why the model stays dense.</summary>
    public sealed record Result(int Compressed, long DenseBytes, long CompressedBytes, string? DenseReason)
    {
        public bool Applied => DenseReason is null;
        public string Describe() => Applied
            ? $"2:4 weights stored compressed: {Compressed} matrices, {DenseBytes / 1048576.0:F0} MiB -> {CompressedBytes / 1048576.0:F0} MiB"
            : $"dense weights: {DenseReason}";
    }

    /// <summary>
    /// Replaces every plain Linear of the decoder layers by a Compressed24Linear, freeing the dense weight. When one
    /// matrix is not exactly 2:4 (or its input size is not a multiple of 8), the ones already done are restored and
    /// the model stays dense; the result says which matrix and group.
    /// </summary>
    public static Result Compress(LlamaModel model)
    {
        int n = 0;
        long denseBytes = 0, compressedBytes = 0;
        foreach (var (layer, p, linear) in model.Linears().ToList())
        {
            if (linear is Compressed24Linear) continue;
            string? refused = null;
            if (linear is not Linear plain) refused = $"{linear.Name} is wrapped ({linear.GetType().Name}); compress before attaching adapters";
            else
            {
                try
                {
                    var c = Compressed24Linear.FromDense(plain.Name, plain.Weight.Data);
                    layer[p] = c;
                    denseBytes += plain.Weight.Data.ByteCount;
                    compressedBytes += c.Compressed.ByteCount;
                    plain.Weight.Data.Dispose(); // one matrix at a time: the dense model is never held twice
                    n++;
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException)
                {
                    refused = $"the model is not exactly 2:4 ({e.Message})";
                }
            }
            if (refused is not null)
            {
                Restore(model); // the matrices done so far come back dense (their values are exact)
                return new Result(0, 0, 0, refused);
            }
        }
        return new Result(n, denseBytes, compressedBytes, null);
    }

    /// <summary>Replaces every Compressed24Linear by a dense Linear (the weight decompressed); returns how many.</summary>
    public static int Restore(LlamaModel model)
    {
        int n = 0;
        using var _ = TensorScope.Detached();
        foreach (var (layer, p, linear) in model.Linears().ToList())
        {
            if (linear is not Compressed24Linear c) continue;
            layer[p] = new Linear(c.Name, new Autograd.Variable(c.Dense(), false, c.Name));
            c.Dispose();
            n++;
        }
        return n;
    }

    /// <summary>
    /// Magnitude-prunes one fresh weight to <paramref name="pattern"/> in place on its device and makes its linear:
    /// compressed (the dense tensor freed) when compress is set, else dense. For building a model layer by layer.
    /// </summary>
    public static ILinear PruneAndMake(string name, Autograd.Variable weight, Pruning.SparsityPattern? pattern, bool compress)
    {
        if (pattern is not null) Pruning.DeviceScorePruning.Magnitude(weight.Data, pattern, Pruning.MagnitudeScope.PerMatrix);
        return Make(name, weight, compress);
    }

    /// <summary>
    /// Makes the linear for one freshly made dense 2:4 weight (used while a model is built layer by layer): the
    /// compressed form when it is 2:4, freeing the dense tensor; the dense Linear otherwise.
    /// </summary>
    public static ILinear Make(string name, Autograd.Variable weight, bool compress)
    {
        if (!compress) return new Linear(name, weight);
        var c = Compressed24Linear.FromDense(name, weight.Data);
        weight.Data.Dispose();
        return c;
    }
}
