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

public sealed partial class SelfTestCommand : Command<SelfTestCommand.Settings>
{
    public sealed class Settings : CommonSettings
    {
        [CommandOption("--filter <TEXT>")][Description("Only cases whose name contains TEXT")]
        public string? Filter { get; init; }
        [CommandOption("--bench")][Description("Also run the op micro-benchmarks")]
        public bool Bench { get; init; }
        [CommandOption("--no-model")][Description("Skip the fixture-model check")]
        public bool NoModel { get; init; }

        protected override void Check(OptionChecks c) => c.NotEmpty("--filter", Filter);
    }

    public override int Execute(CommandContext context, Settings s, CancellationToken cancellationToken)
    {
        var args = new List<string> { "--device", s.Device.ToString() };
        if (s.Filter is not null) args.AddRange(["--filter", s.Filter]);
        if (s.Bench) args.Add("--bench");
        int rc = SelfTestMain.RunMain(args.ToArray());
        if (!s.NoModel) rc = Math.Max(rc, ModelCheck(s.Device));
        if (!s.NoModel) rc = Math.Max(rc, InitAndStreamingCheck(s.Device));
        if (!s.NoModel) rc = Math.Max(rc, SelfTestZeroShot.Run(s.Device));
        if (!s.NoModel) rc = Math.Max(rc, NonFiniteCheck(s.Device));
        if (!s.NoModel) rc = Math.Max(rc, Compressed24Check(s.Device));
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

    /// <summary>The embedded model with one NaN planted must be refused when loaded on the device (the load-time
    /// finite check runs there as a reduction), naming the tensor; the clean model loads (ModelCheck above).</summary>
    private static int NonFiniteCheck(Device device)
    {
        const string victim = "model.layers.3.mlp.gate_proj.weight";
        var tmp = Directory.CreateTempSubdirectory("lors-selftest-nan-").FullName;
        try
        {
            foreach (var f in Directory.GetFiles(Cli.EmbeddedModel)) File.Copy(f, Path.Combine(tmp, Path.GetFileName(f)));
            string weights = Path.Combine(tmp, "model.safetensors");
            long at;
            Lors.Models.Formats.SafeDType dtype;
            using (var file = Lors.Models.Formats.SafetensorsFile.Open(weights))
            {
                var e = file.Get(victim);
                dtype = e.DType;
                at = 8 + (long)BitConverter.ToUInt64(File.ReadAllBytes(weights), 0) + e.ByteOffset + 123 * Lors.Models.Formats.SafeDTypes.Size(e.DType);
            }
            byte[] nan = dtype switch
            {
                Lors.Models.Formats.SafeDType.F32 => BitConverter.GetBytes(float.NaN),
                Lors.Models.Formats.SafeDType.F16 => BitConverter.GetBytes((ushort)0x7E00),
                _ => BitConverter.GetBytes((ushort)0x7FC0),
            };
            using (var fs = new FileStream(weights, FileMode.Open, FileAccess.Write)) { fs.Position = at; fs.Write(nan); }
            int rc = 0;
            foreach (var dt in device.IsCpu ? new[] { DType.F32 } : new[] { DType.F32, DType.BF16 })
            {
                string outcome;
                bool ok = false;
                try
                {
                    using var model = LlamaModel.Load(tmp, device, dt);
                    outcome = "accepted a NaN weight";
                }
                catch (Lors.Models.Formats.SafetensorsFormatException e)
                {
                    ok = e.TensorName == victim && e.Message.Contains("NaN", StringComparison.Ordinal);
                    outcome = e.Message[(e.Message.IndexOf("tensor '", StringComparison.Ordinal) is int i and >= 0 ? i : 0)..];
                }
                if (!ok) rc = 1;
                AnsiConsole.MarkupLine($"NaN weight {dt.Name()} on {device}: {Markup.Escape(outcome)} {(ok ? "[green]ok[/]" : "[red]FAIL[/]")}");
            }
            return rc;
        }
        finally { Directory.Delete(tmp, recursive: true); }
    }
}
