// `lors selftest`'s check of compressed 2:4 weights on the device: the embedded model pruned 2:4 there, LoRS adapters
// with non-zero A, once on dense weights and once on compressed ones (Compression24): resident bytes, loss, every
// adapter gradient and the merged weights must agree (bf16 tolerance on a GPU; the CPU path is bit-identical).
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Adapters;
using Lors.Train.Pruning;
using Lors.Train.Sparse;
using Spectre.Console;

namespace Lors.Cli.Commands;

public sealed partial class SelfTestCommand
{
    private static int Compressed24Check(Device device)
    {
        var dt = device.IsCpu ? DType.F32 : DType.BF16;
        var tokenizer = Lors.Models.Tokenization.Tokenizer.Load(Cli.EmbeddedModel);
        var ids = tokenizer.Encode(File.ReadAllText(Cli.EmbeddedText("valid"))[..4000], addSpecialTokens: false).Take(256).ToArray();
        (double loss, List<float[]> grads, List<float[]> merged, long linearBytes, string weights) Run(bool compress)
        {
            using var model = LlamaModel.Load(Cli.EmbeddedModel, device, dt);
            Pruner.Prune(model, new PruneOptions { Method = PruneMethod.Magnitude, Pattern = new SparsityPattern.NM(2, 4) }, null);
            long dense = model.Linears().Sum(x => x.linear.Weight.Data.ByteCount);
            string weights = "dense";
            if (compress)
            {
                var r = Compression24.Compress(model);
                if (!r.Applied) throw new InvalidOperationException(r.Describe());
                weights = r.Describe();
                dense = r.CompressedBytes;
            }
            using var set = AdapterSet.Attach(model, new AdapterConfig { Method = AdapterMethod.Lors, Rank = 8, Alpha = 16, Seed = 3, Init = AdapterInit.Lora });
            ulong k = 1;
            foreach (var a in set.Adapters)
            {
                using var _ = TensorScope.Detached();
                using var noise = Ops.RandomNormal(a.A.Shape, k++, 0, 0.05, DType.F32, device);
                Ops.CopyInto(noise, a.A.Data);
            }
            double loss;
            using (var scope = TensorScope.Begin())
            {
                var l = model.Loss(Tensor.FromArray(ids, [2, 128], device));
                l.Backward();
                loss = l.Data.Item();
            }
            var grads = set.Parameters.Select(p => p.Param.Grad!.ToFloatArray()).ToList();
            set.MergeIntoBase();
            if (compress) Compression24.Restore(model);
            var merged = model.Linears().Select(x => x.linear.Weight.Data.ToFloatArray()).ToList();
            return (loss, grads, merged, dense, weights);
        }
        int rc = 0;
        try
        {
            var d = Run(compress: false);
            var c = Run(compress: true);
            double gradRel = 0, mergedRel = 0;
            bool identical = d.loss == c.loss;
            for (int i = 0; i < d.grads.Count; i++) { gradRel = Math.Max(gradRel, RelDiff(d.grads[i], c.grads[i])); identical &= d.grads[i].AsSpan().SequenceEqual(c.grads[i]); }
            bool masks = true;
            for (int i = 0; i < d.merged.Count; i++)
            {
                mergedRel = Math.Max(mergedRel, RelDiff(d.merged[i], c.merged[i]));
                identical &= d.merged[i].AsSpan().SequenceEqual(c.merged[i]);
                for (int j = 0; j < d.merged[i].Length; j++) masks &= (d.merged[i][j] == 0) == (c.merged[i][j] == 0);
            }
            double ratio = (double)c.linearBytes / d.linearBytes;
            double expectRatio = dt == DType.BF16 ? 0.5625 : 0.53125;
            double tol = dt == DType.BF16 ? 2e-2 : 1e-5;
            bool ok = Math.Abs(ratio - expectRatio) < 1e-9 && masks && Math.Abs(d.loss - c.loss) < tol && gradRel < tol * 5 && mergedRel < tol;
            if (!ok) rc = 1;
            AnsiConsole.MarkupLine($"compressed 2:4 {dt.Name()} on {device}: linear bytes x{ratio:F4} (expect {expectRatio}); loss {c.loss:F6} vs dense {d.loss:F6}; " +
                $"adapter grads max rel {gradRel:E2}; merged max rel {mergedRel:E2}, masks {(masks ? "equal" : "DIFFER")}; bit-identical {(identical ? "yes" : "no")} {(ok ? "[green]ok[/]" : "[red]FAIL[/]")}");
        }
        catch (Exception e)
        {
            AnsiConsole.MarkupLine($"compressed 2:4 on {device}: {Markup.Escape(e.GetType().Name + ": " + e.Message)} [red]FAIL[/]");
            rc = 1;
        }
        return rc;
    }

    /// <summary>max |a - b| / max |a| over one tensor.</summary>
    private static double RelDiff(float[] a, float[] b)
    {
        double diff = 0, refMax = 1e-30;
        for (int i = 0; i < a.Length; i++) { diff = Math.Max(diff, Math.Abs(a[i] - b[i])); refMax = Math.Max(refMax, Math.Abs(a[i])); }
        return diff / refMax;
    }
}
