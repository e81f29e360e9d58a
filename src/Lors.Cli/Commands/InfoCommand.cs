// `lors info`: a model's architecture, parameter count, dtype and per-layer sparsity, and the devices this machine has.
using System.ComponentModel;
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

        protected override void Check(OptionChecks c) => c.NotEmpty("--model", Model);
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var dir = Cli.ResolveModel(s.Model);
        // Read tensor by tensor through a bounded buffer: info on a 7B folder must not hold the model in memory.
        var info = Lors.Train.Inspection.FolderInspection.Inspect(dir);
        var c = info.Config;
        var layers = info.Layers.Select(l => new { layer = l.Layer, sparsity = Projections.All.ToDictionary(p => p.Short(), p => l.ByProjection[p]) }).ToList();
        double overall = info.Sparsity;
        var pattern = info.Pattern;
        var devices = new List<string> { Backends.Cpu.Description };
        var cuda = CudaProbe();
        if (cuda is not null) devices.Add(cuda);
        if (s.Json)
        {
            Cli.WriteJson(new { model = dir, hidden = c.HiddenSize, intermediate = c.IntermediateSize, layers = c.NumHiddenLayers, heads = c.NumAttentionHeads, kv_heads = c.NumKeyValueHeads, head_dim = c.HeadDim, vocab = c.VocabSize, dtype = c.TorchDType, parameters = info.Parameters, stored = info.StoredDTypes, shards = info.Shards, seconds = info.Elapsed.TotalSeconds, tied = c.TieWordEmbeddings, sparsity = overall, pattern, per_layer = layers, devices });
            return 0;
        }
        var t = new Table().AddColumns("", "");
        t.AddRow("model", Markup.Escape(dir));
        t.AddRow("architecture", $"Llama: hidden {c.HiddenSize}, intermediate {c.IntermediateSize}, {c.NumHiddenLayers} layers, {c.NumAttentionHeads} heads ({c.NumKeyValueHeads} kv, head dim {c.HeadDim}), vocab {c.VocabSize}");
        t.AddRow("rope", $"theta {c.RopeTheta}, scaling {c.RopeScaling?.Type ?? "none"}, max positions {c.MaxPositionEmbeddings}");
        t.AddRow("parameters", $"{info.Parameters:N0} ({(c.TieWordEmbeddings ? "tied" : "untied")} embeddings)");
        t.AddRow("dtype", $"{c.TorchDType ?? "?"} (stored {string.Join(", ", info.StoredDTypes)} in {info.Shards} file{(info.Shards == 1 ? "" : "s")})");
        t.AddRow("sparsity", $"{overall:P2} of q/k/v/o/gate/up/down; pattern: {pattern}");
        t.AddRow("devices", Markup.Escape(string.Join("; ", devices)));
        AnsiConsole.Write(t);
        var lt = new Table().AddColumn("layer");
        foreach (var p in Projections.All) lt.AddColumn(p.Short());
        foreach (var l in layers) lt.AddRow([l.layer.ToString(), .. Projections.All.Select(p => $"{l.sparsity[p.Short()]:P1}")]);
        AnsiConsole.Write(lt);
        return 0;
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
