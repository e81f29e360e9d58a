// `lors merge`: adapters into the base weights; a Hugging Face folder out. For LoRS and the masked methods the
// zero pattern is verified identical to the base model's before the folder is moved into place.
using System.ComponentModel;
using Lors.Models.Llama;
using Lors.Train.Adapters;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class MergeCommand : Command<MergeCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--model <DIR>")][Description("The base Hugging Face model folder")]
        public string? Model { get; init; }

        [CommandOption("--adapter <DIR>")][Description("Adapter folder (adapter_config.json + adapter_model.safetensors)")]
        public string? Adapter { get; init; }

        [CommandOption("--out <DIR>")][Description("Output folder (must not exist unless --force)")]
        public string? Out { get; init; }

        [CommandOption("--force")][Description("Replace an existing output folder")]
        public bool Force { get; init; }

        protected override void Check(OptionChecks c) => c
            .Required("--model", Model).Required("--adapter", Adapter).Required("--out", Out)
            .NotEmpty("--model", Model).NotEmpty("--adapter", Adapter).NotEmpty("--out", Out);
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var (report, phases) = Merge(s.Model!, s.Adapter!, s.Out!, s.Force, s.Device);
        if (s.Json) Cli.WriteJson(new { out_dir = s.Out, method = report.Method.ToString(), sparsity_before = report.SparsityBefore, sparsity_after = report.SparsityAfter, filled_zeros = report.FilledZeros, preserved = report.SparsityPreserved, phases = phases.Seconds });
        else AnsiConsole.MarkupLine($"merged {report.Method} adapters into {Markup.Escape(s.Out!)}: sparsity {report.SparsityBefore:P2} -> {report.SparsityAfter:P2}, {report.FilledZeros:N0} zeros filled ({phases})");
        return 0;
    }

    public static MergeReport Merge(string modelDir, string adapterDir, string outDir, bool force) => Merge(modelDir, adapterDir, outDir, force, Lors.Tensors.Device.Cpu).Report;

    /// <summary>Loads the base straight onto <paramref name="device"/> (fp32 there, so the merge rounds once, when stored),
    /// merges there, and writes the folder shard by shard in the base's layout through a bounded host buffer.</summary>
    public static (MergeReport Report, PhaseTimer Phases) Merge(string modelDir, string adapterDir, string outDir, bool force, Lors.Tensors.Device device)
    {
        if (Directory.Exists(outDir) && !force) throw new IOException($"output folder '{outDir}' already exists (use --force to replace it)"); // before the slow work
        var phases = new PhaseTimer();
        using var model = LlamaModel.Load(modelDir, device, Lors.Tensors.DType.F32);
        phases.Mark("load");
        using var adapters = AdapterSet.Load(model, adapterDir);
        var report = adapters.MergeIntoBase();
        if (adapters.Config.Method != AdapterMethod.Lora && !report.SparsityPreserved)
            throw new InvalidOperationException($"merge would fill {report.FilledZeros} zeros of the base weights with a {adapters.Config.Method} adapter; nothing was written");
        phases.Mark("merge");
        model.SaveFolder(outDir, modelDir, force);
        phases.Mark("save");
        return (report, phases);
    }
}
