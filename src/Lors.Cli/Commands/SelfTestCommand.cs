// `lors selftest`: every backend op on a device against the CPU backend (tolerances per dtype), optionally with
// micro-benchmarks; also the fixture model's loss on that device against the CPU. For the GPU machine, which has no SDK.
using System.ComponentModel;
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Conformance;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class SelfTestCommand : Command<SelfTestCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--filter <TEXT>")][Description("Only cases whose name contains TEXT")]
        public string? Filter { get; init; }
        [CommandOption("--bench")][Description("Also run the op micro-benchmarks")]
        public bool Bench { get; init; }
        [CommandOption("--no-model")][Description("Skip the fixture-model check")]
        public bool NoModel { get; init; }
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var args = new List<string> { "--device", s.Device.ToString() };
        if (s.Filter is not null) args.AddRange(["--filter", s.Filter]);
        if (s.Bench) args.Add("--bench");
        int rc = SelfTestMain.RunMain(args.ToArray());
        if (!s.NoModel) rc = Math.Max(rc, ModelCheck(s.Device));
        return rc;
    }

    /// <summary>Loss and logits of the embedded model on the device against the CPU (fp32 there, bf16 storage on a GPU).</summary>
    private static int ModelCheck(Device device)
    {
        var dir = Cli.EmbeddedModel;
        var tokenizer = Lors.Models.Tokenization.Tokenizer.Load(dir);
        var ids = tokenizer.Encode(File.ReadAllText(Cli.EmbeddedText("valid"))[..4000], addSpecialTokens: false).Take(256).ToArray();
        float[] Logits(Device d, DType t, out double loss)
        {
            using var model = LlamaModel.Load(dir, d, t);
            using var _ = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            var input = Tensor.FromArray(ids, [2, 128], d);
            loss = model.Loss(input).Data.Item();
            return model.Forward(input).Data.ToFloatArray();
        }
        var cpu = Logits(Device.Cpu, DType.F32, out var cpuLoss);
        int rc = 0;
        foreach (var dt in device.IsCpu ? new[] { DType.F32 } : new[] { DType.F32, DType.BF16 })
        {
            var dev = Logits(device, dt, out var devLoss);
            double maxDiff = 0, maxRef = 0;
            for (int i = 0; i < cpu.Length; i++) { maxDiff = Math.Max(maxDiff, Math.Abs(cpu[i] - dev[i])); maxRef = Math.Max(maxRef, Math.Abs(cpu[i])); }
            // bf16 weights round to 8 significant bits, so logits move by about 1%; fp32 must agree to fp32 rounding.
            double tol = dt == DType.BF16 ? 3e-2 : 1e-4;
            bool ok = maxDiff / maxRef < tol && Math.Abs(devLoss - cpuLoss) < (dt == DType.BF16 ? 2e-2 : 1e-4);
            if (!ok) rc = 1;
            AnsiConsole.MarkupLine($"model {dt.Name()} on {device}: loss {devLoss:F6} vs cpu {cpuLoss:F6}; logits max|diff|/max|ref| {maxDiff / maxRef:E2} (tolerance {tol:E0}) {(ok ? "[green]ok[/]" : "[red]FAIL[/]")}");
        }
        return rc;
    }
}
