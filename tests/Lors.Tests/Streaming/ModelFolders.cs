// Test folders built from the embedded model: its tensors (optionally transformed, e.g. pruned to a pattern) written
// as a single file or as several shards with an index, beside its config and tokenizer files.
using Lors.Models.Formats;
using Lors.Models.Llama;

namespace Lors.Tests.Streaming;

internal static class ModelFolders
{
    /// <summary>Writes the embedded model's tensors to <paramref name="dir"/>; transform(name, floats, cols) may edit
    /// the adapted matrices in place. maxShardBytes small enough gives several shards.</summary>
    public static string Write(string dir, long maxShardBytes = long.MaxValue, Action<string, float[], int>? transform = null, SafeDType store = SafeDType.BF16)
    {
        Directory.CreateDirectory(dir);
        using var reader = HfWeightsReader.Open(RepoPaths.TinyModel);
        var tensors = new List<TensorToWrite>();
        foreach (var name in reader.Names)
        {
            var (file, e) = reader.Find(name);
            var shape = e.Shape.Select(d => (int)d).ToArray();
            using var t = Lors.Tensors.Tensor.FromBytes(file.GetBytes(e), shape, Lors.Tensors.DType.BF16);
            var w = t.ToFloatArray();
            if (shape.Length == 2 && name.Contains("_proj")) transform?.Invoke(name, w, shape[1]);
            var storeType = store == SafeDType.F32 ? Lors.Tensors.DType.F32 : Lors.Tensors.DType.BF16;
            using var back = Lors.Tensors.Tensor.FromArray(w, shape).To(storeType);
            var bytes = new byte[back.ByteCount];
            back.Backend.CopyToHost(back.Storage, 0, bytes);
            tensors.Add(new TensorToWrite(name, store, e.Shape, bytes));
        }
        SafetensorsWriter.WriteSharded(dir, tensors, maxShardBytes, new Dictionary<string, string> { ["format"] = "pt" });
        foreach (var f in new[] { "config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
            File.Copy(Path.Combine(RepoPaths.TinyModel, f), Path.Combine(dir, f), overwrite: true);
        return dir;
    }

    /// <summary>Keeps the n largest-magnitude weights of every group of m along each row.</summary>
    public static Action<string, float[], int> PruneNM(int n, int m) => (_, w, cols) =>
    {
        for (int g = 0; g < w.Length; g += m)
        {
            var order = Enumerable.Range(g, m).OrderBy(i => Math.Abs(w[i])).Take(m - n);
            foreach (int i in order) w[i] = 0;
        }
    };

    /// <summary>Zeros a pseudo-random fraction of the weights (deterministic per tensor).</summary>
    public static Action<string, float[], int> PruneRandom(double fraction) => (name, w, _) =>
    {
        var rng = new Random(name.GetHashCode(StringComparison.Ordinal) & 0x7FFFFFFF);
        for (int i = 0; i < w.Length; i++) if (rng.NextDouble() < fraction) w[i] = 0;
    };
}
