// Helpers for the pruning tests: repository paths (found by walking up to LoRS.sln), a self-deleting temp folder,
// a small random Llama, and the fixture tokenizer's calibration samples.
using Lors.Models.Formats;
using Lors.Models.Llama;

namespace Lors.Tests.Pruning;

internal static class PrunePaths
{
    public static string RepoRoot => Lors.Tests.RepoPaths.Root;
    public static string TinyModel => Path.Combine(RepoRoot, "models", "tiny-llama-brown");
    public static string BrownTrain => Path.Combine(RepoRoot, "data", "brown", "brown.train.txt");
    public static string BrownTest => Path.Combine(RepoRoot, "data", "brown", "brown.test.txt");

    /// <summary>A random Llama small enough for unit tests (in-features 32 and 48, so 2:4 and 4:8 divide; 3:32 does not).</summary>
    public static LlamaModel SmallRandom(ulong seed = 1, int layers = 2) => LlamaModel.CreateRandom(new LlamaConfig
    {
        VocabSize = 64, HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = layers, NumAttentionHeads = 4,
        NumKeyValueHeads = 2, MaxPositionEmbeddings = 64, RmsNormEps = 1e-5, TorchDType = "float32",
    }, seed);

    public static IReadOnlyList<int[]> RandomCalibration(int samples, int seqLen, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, samples).Select(_ => Enumerable.Range(0, seqLen).Select(_ => rng.Next(vocab)).ToArray()).ToList();
    }
}

internal sealed class PruneTemp : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("lors-prune-").FullName;
    public string Sub(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
