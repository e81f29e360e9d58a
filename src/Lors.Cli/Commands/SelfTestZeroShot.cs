// Part of `lors selftest`: zero-shot log-likelihoods of the fixture items (tests/fixtures/zeroshot) on a device,
// through both batched paths (shared-context KV cache with row gathers, and padded rows), against the CPU's
// unbatched reference. fp32 must agree to 1e-4 relative with the same picks; bf16 is reported, not judged.
using Lors.Models.Evaluation.Tasks;
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Lors.Tensors;
using Spectre.Console;

namespace Lors.Cli.Commands;

public static class SelfTestZeroShot
{
    public static int Run(Device device)
    {
        var data = FindFixtures();
        if (data is null)
        {
            AnsiConsole.MarkupLine("zero-shot: [yellow]skipped[/] (tests/fixtures/zeroshot not found above the tool or the current folder)");
            return 0;
        }
        var dir = Cli.EmbeddedModel;
        var encoder = new RequestEncoder(Tokenizer.Load(dir));
        var requests = ZeroShotTask.All.SelectMany(t => ZeroShotEvaluator.LoadDocs(t, data))
            .SelectMany(d => d.Requests.Select(r => encoder.Encode(r.Context, r.Continuation))).ToList();
        double[] reference;
        using (var cpu = LlamaModel.Load(dir, Device.Cpu, DType.F32)) reference = LoglikelihoodScorer.ScoreUnbatched(cpu, requests);
        int rc = 0;
        foreach (var dt in device.IsCpu ? new[] { DType.F32 } : new[] { DType.F32, DType.BF16 })
        {
            using var model = LlamaModel.Load(dir, device, dt);
            foreach (bool share in new[] { true, false })
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                var got = LoglikelihoodScorer.Score(model, requests, batchTokens: 512, shareContexts: share);
                double ms = sw.Elapsed.TotalMilliseconds;
                double maxRel = 0;
                for (int i = 0; i < got.Length; i++) maxRel = Math.Max(maxRel, Math.Abs(got[i] - reference[i]) / Math.Max(Math.Abs(reference[i]), 1e-12));
                bool ok = dt != DType.F32 || maxRel < 1e-4;
                if (!ok) rc = 1;
                string verdict = dt != DType.F32 ? "[dim](reported)[/]" : ok ? "[green]ok[/]" : "[red]FAIL[/]";
                AnsiConsole.MarkupLine($"zero-shot {dt.Name()} on {device}, {(share ? "shared contexts" : "padded rows")}: {requests.Count} requests in {ms:F0} ms; " +
                    $"max relative diff vs cpu reference {maxRel:E2} (tolerance {(dt == DType.F32 ? "1E-004" : "none")}) {verdict}");
            }
        }
        return rc;
    }

    /// <summary>The repository's fixture folder: the tool's own folder holds no tests, so the current folder is searched too.</summary>
    private static string? FindFixtures()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var path = Path.Combine(d.FullName, "tests", "fixtures", "zeroshot");
                if (Directory.Exists(path)) return path;
            }
        return null;
    }
}
