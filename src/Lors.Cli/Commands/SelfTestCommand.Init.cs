// `lors selftest`'s check of the device gradient init and the streaming load/save: the embedded model pruned 2:4 on
// the CPU and saved (streamed), loaded straight onto the device (fp32), the device init against the CPU reference
// init (top singular value and leading singular vector of each of the 42 matrices), budgeted passes against one
// pass, and a device -> folder save that must reproduce the pruned folder's bytes.
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Train.Adapters;
using Lors.Train.Init;
using Lors.Train.Pruning;
using Spectre.Console;

namespace Lors.Cli.Commands;

public sealed partial class SelfTestCommand
{
    private static int InitAndStreamingCheck(Device device)
    {
        var tmp = Directory.CreateTempSubdirectory("lors-selftest-").FullName;
        try
        {
            var pruned = Path.Combine(tmp, "pruned");
            using (var m = LlamaModel.Load(Cli.EmbeddedModel))
            {
                Pruner.Prune(m, new PruneOptions { Method = PruneMethod.Magnitude, Pattern = new SparsityPattern.NM(2, 4) }, null);
                m.SaveFolder(pruned, Cli.EmbeddedModel);
            }
            var tokenizer = Lors.Models.Tokenization.Tokenizer.Load(pruned);
            var ids = tokenizer.Encode(File.ReadAllText(Cli.EmbeddedText("valid"))[..8000], addSpecialTokens: false).Take(4 * 128 + 1).ToArray();
            List<(Tensor, Tensor)> Batches(Device d) =>
                [.. Enumerable.Range(0, 2).Select(b => (Tensor.FromArray(ids[(b * 256)..(b * 256 + 256)], [2, 128], d), Tensor.FromArray(ids[(b * 256 + 1)..(b * 256 + 257)], [2, 128], d)))];
            (GradientInit.Report, List<float[]>) Init(Device d, bool reference, long? budget = null)
            {
                using var model = LlamaModel.Load(pruned, d, DType.F32);
                using var set = AdapterSet.Attach(model, new AdapterConfig { Rank = 8, Seed = 3 });
                var r = reference ? GradientInit.RunReference(model, set, Batches(d)) : GradientInit.Run(model, set, Batches(d), budgetBytes: budget);
                return (r, set.Adapters.Select(a => a.B.Data.ToFloatArray()).ToList());
            }
            var (r0, b0) = Init(Device.Cpu, reference: true);
            var (r1, b1) = Init(device, reference: false);
            var (r2, b2) = Init(device, reference: false, budget: 1_000_000);
            double worstSigma = 0, worstCos = 1, worstGroup = 0;
            for (int i = 0; i < b0.Count; i++)
            {
                worstSigma = Math.Max(worstSigma, Math.Abs(r0.Layers[i].TopSigma - r1.Layers[i].TopSigma) / r0.Layers[i].TopSigma);
                int n = b0[i].Length / 8;
                double dot = 0;
                for (int c = 0; c < n; c++) dot += b0[i][c] * b1[i][c];
                worstCos = Math.Min(worstCos, Math.Abs(dot));
                for (int k = 0; k < b1[i].Length; k++) worstGroup = Math.Max(worstGroup, Math.Abs(b1[i][k] - b2[i][k]));
            }
            bool initOk = worstSigma < 1e-3 && worstCos > 0.999 && worstGroup < 1e-4 && r2.Passes == 6;
            AnsiConsole.MarkupLine($"gradient init on {device} vs cpu reference: top sigma max rel diff {worstSigma:E2} (< 1e-3), leading vector min |cos| {worstCos:F6} (> 0.999), " +
                $"{r2.Passes} budgeted passes vs 1: max |diff| {worstGroup:E2} (< 1e-4); {r1.Elapsed.TotalSeconds:F2} s {(initOk ? "[green]ok[/]" : "[red]FAIL[/]")}");

            var back = Path.Combine(tmp, "back");
            using (var m = LlamaModel.Load(pruned, device, DType.F32, stagingBytes: 1 << 16)) m.SaveFolder(back, pruned);
            bool same = File.ReadAllBytes(Path.Combine(pruned, "model.safetensors")).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(back, "model.safetensors")));
            AnsiConsole.MarkupLine($"streaming load to {device} and save through a 64 KiB buffer: bytes {(same ? "identical [green]ok[/]" : "differ [red]FAIL[/]")}");
            return initOk && same ? 0 : 1;
        }
        finally
        {
            Directory.Delete(tmp, recursive: true);
        }
    }
}
