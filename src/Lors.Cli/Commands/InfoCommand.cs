// `lors info`: a model's architecture, parameter count, dtype and per-layer sparsity, and the devices this machine has.
using System.ComponentModel;
using Lors.Models.Formats;
using Lors.Models.Llama;
using Lors.Tensors;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class InfoCommand : Command<InfoCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--model <DIR>")][Description("Hugging Face model folder (default: the embedded tiny model)")]
        public string? Model { get; init; }
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var dir = Cli.ResolveModel(s.Model);
        var c = LlamaConfig.Load(dir);
        using var model = LlamaModel.Load(dir, Device.Cpu, DType.F32);
        var layers = model.Layers.Select(l => new
        {
            layer = l.Index,
            sparsity = Projections.All.ToDictionary(p => p.Short(), p => Sparsity(l[p].Weight.Data)),
        }).ToList();
        long adapted = model.Linears().Sum(x => x.linear.Weight.Data.Numel);
        double overall = model.Linears().Sum(x => Sparsity(x.linear.Weight.Data) * x.linear.Weight.Data.Numel) / adapted;
        var pattern = DetectPattern(model);
        var devices = new List<string> { Backends.Cpu.Description };
        var cuda = CudaProbe();
        if (cuda is not null) devices.Add(cuda);
        if (s.Json)
        {
            Cli.WriteJson(new { model = dir, hidden = c.HiddenSize, intermediate = c.IntermediateSize, layers = c.NumHiddenLayers, heads = c.NumAttentionHeads, kv_heads = c.NumKeyValueHeads, head_dim = c.HeadDim, vocab = c.VocabSize, dtype = c.TorchDType, parameters = model.ParameterCount, tied = c.TieWordEmbeddings, sparsity = overall, pattern, per_layer = layers, devices });
            return 0;
        }
        var t = new Table().AddColumns("", "");
        t.AddRow("model", Markup.Escape(dir));
        t.AddRow("architecture", $"Llama: hidden {c.HiddenSize}, intermediate {c.IntermediateSize}, {c.NumHiddenLayers} layers, {c.NumAttentionHeads} heads ({c.NumKeyValueHeads} kv, head dim {c.HeadDim}), vocab {c.VocabSize}");
        t.AddRow("rope", $"theta {c.RopeTheta}, scaling {c.RopeScaling?.Type ?? "none"}, max positions {c.MaxPositionEmbeddings}");
        t.AddRow("parameters", $"{model.ParameterCount:N0} ({(c.TieWordEmbeddings ? "tied" : "untied")} embeddings)");
        t.AddRow("dtype", c.TorchDType ?? "?");
        t.AddRow("sparsity", $"{overall:P2} of q/k/v/o/gate/up/down; pattern: {pattern}");
        t.AddRow("devices", Markup.Escape(string.Join("; ", devices)));
        AnsiConsole.Write(t);
        var lt = new Table().AddColumn("layer");
        foreach (var p in Projections.All) lt.AddColumn(p.Short());
        foreach (var l in layers) lt.AddRow([l.layer.ToString(), .. Projections.All.Select(p => $"{l.sparsity[p.Short()]:P1}")]);
        AnsiConsole.Write(lt);
        return 0;
    }

    public static double Sparsity(Tensor w)
    {
        using var m = Ops.NonZeroMask(w);
        return 1.0 - m.ToByteArray().Sum(b => (double)b) / Math.Max(1, w.Numel);
    }

    /// <summary>"2:4" / "4:8" when every adapted matrix has at least m-n zeros in each group of m inputs; else "unstructured" or "dense".</summary>
    public static string DetectPattern(LlamaModel model)
    {
        var mats = model.Linears().Select(x => (w: x.linear.Weight.Data.ToFloatArray(), cols: x.linear.InFeatures)).ToList();
        if (mats.All(m => m.w.All(v => v != 0))) return "dense";
        foreach (var (n, m) in new[] { (1, 4), (2, 4), (4, 8) })
        {
            bool ok = mats.All(x => x.cols % m == 0 && Enumerable.Range(0, x.w.Length / m).All(g =>
            {
                int zeros = 0;
                for (int k = 0; k < m; k++) if (x.w[g * m + k] == 0) zeros++;
                return zeros >= m - n;
            }));
            if (ok) return $"{n}:{m}";
        }
        return "unstructured";
    }

    private static string? CudaProbe()
    {
        try
        {
            var t = Type.GetType("Lors.Tensors.Cuda.CudaBackend, Lors.Tensors");
            var probe = t?.GetMethod("Probe", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static);
            var text = probe?.Invoke(null, null) as string;
            return text ?? (Backends.IsCudaAvailable ? "cuda" : "no CUDA device");
        }
        catch (Exception e) { return $"no CUDA device ({e.GetBaseException().Message})"; }
    }
}
