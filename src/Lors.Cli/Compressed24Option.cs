// The --compressed-24 auto|on|off option shared by finetune, eval, generate and bench train: whether a 2:4 model's
// decoder weights are held compressed (values + metadata, 0.5625x the bf16 bytes). auto = on CUDA only.
using Lors.Models.Llama;
using Lors.Train.Sparse;

namespace Lors.Cli;

public static class Compressed24Option
{
    public const string Name = "--compressed-24";
    public const string Help = "off | on | auto: hold 2:4 weights compressed (auto: on CUDA). Default off: the compressed path saves memory but its speed is not yet measured. A model not exactly 2:4 stays dense and says so";

    /// <summary>Compresses the model's linears when the mode asks for it; tells stderr what happened (stdout may carry JSON).</summary>
    public static Compression24.Result? Apply(LlamaModel model, string mode)
    {
        if (!Compression24.Wanted(Compression24.ParseMode(mode), model.Device)) return null;
        var r = Compression24.Compress(model);
        Console.Error.WriteLine(r.Describe());
        return r;
    }
}
