// The embedded tiny model pruned 2:4 by magnitude, and its logits on a fixed 16-token prompt: shared by the adapter
// tests and the compressed 2:4 tests.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Pruning;

namespace Lors.Tests.Adapters;

internal static class TinyPruned
{
    public static readonly int[] Ids = [0, 341, 440, 1280, 624, 1451, 3335, 350, 3706, 342, 374, 339, 2308, 1065, 655, 17];

    public static LlamaModel Model()
    {
        var m = LlamaModel.Load(RepoPaths.TinyModel);
        Pruner.Prune(m, new PruneOptions { Method = PruneMethod.Magnitude, Pattern = new SparsityPattern.NM(2, 4) }, null);
        return m;
    }

    public static float[] Logits(LlamaModel m)
    {
        using var _ = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        return m.Forward(Tensor.FromArray(Ids, [1, Ids.Length])).Data.ToFloatArray();
    }
}
