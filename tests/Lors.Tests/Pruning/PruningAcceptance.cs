// The acceptance table of docs/PRUNING.md: perplexity of the fixture model on brown.test after each method x pattern,
// calibrated on 128 x 256 tokens of brown.train (seed 0). Slow: run it in Release with
//   dotnet test tests/Lors.Tests -c Release --filter "FullyQualifiedName~PruningAcceptance" --logger "console;verbosity=detailed"
using System.Diagnostics;
using Lors.Models.Evaluation;
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Lors.Train.Pruning;
using Xunit.Abstractions;

namespace Lors.Tests.Pruning;

public class PruningAcceptance(ITestOutputHelper output)
{
    /// <summary>Prunes a fresh copy of the fixture per row and returns the markdown table (also usable from a CLI).</summary>
    public static string Run(Action<string> log, int samples = 128, int seqLen = 256, ulong seed = 0)
    {
        var tok = Tokenizer.Load(PrunePaths.TinyModel);
        var stream = tok.Encode(File.ReadAllText(PrunePaths.BrownTest), addSpecialTokens: false);
        var calib = CalibrationData.FromText(tok, PrunePaths.BrownTrain, samples, seqLen, seed);
        var rows = new List<string> { "| method | pattern | perplexity | prune wall (s) | prune CPU (s) | sparsity |", "|---|---|---:|---:|---:|---:|" };
        using (var dense = LlamaModel.Load(PrunePaths.TinyModel))
        {
            var ppl = Perplexity.Evaluate(dense, stream, 256);
            rows.Add($"| dense | - | {ppl.Perplexity:F2} | - | - | 0% |");
            log($"dense: {ppl.Perplexity:F2} ({ppl.Elapsed.TotalSeconds:F1} s eval, {ppl.StreamTokens} tokens)");
        }
        var runs = new (PruneMethod method, string pattern, MagnitudeScope scope)[]
        {
            (PruneMethod.Magnitude, "0.5", MagnitudeScope.PerMatrix), (PruneMethod.Magnitude, "0.5", MagnitudeScope.PerRow),
            (PruneMethod.Wanda, "0.5", default), (PruneMethod.SparseGpt, "0.5", default),
            (PruneMethod.Magnitude, "2:4", default), (PruneMethod.Wanda, "2:4", default), (PruneMethod.SparseGpt, "2:4", default),
            (PruneMethod.Wanda, "4:8", default), (PruneMethod.SparseGpt, "4:8", default),
        };
        foreach (var (method, pattern, scope) in runs)
        {
            using var model = LlamaModel.Load(PrunePaths.TinyModel);
            var sw = Stopwatch.StartNew();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var r = Pruner.Prune(model, new PruneOptions { Method = method, Pattern = SparsityPattern.Parse(pattern), MagnitudeScope = scope }, calib,
                new InlineProgress(p => { if (p.Stage == "done") log($"  {method} {pattern}: {p}"); }));
            double seconds = sw.Elapsed.TotalSeconds, cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            if (!SparsityCheck.Check(model, r.Pattern).Ok) throw new InvalidOperationException($"{method} {pattern}: pattern check failed");
            var ppl = Perplexity.Evaluate(model, stream, 256);
            string name = method == PruneMethod.Magnitude && r.Pattern is SparsityPattern.Unstructured ? $"magnitude ({scope})" : method.ToString();
            rows.Add($"| {name} | {r.Pattern} | {ppl.Perplexity:F2} | {seconds:F1} | {cpu:F1} | {r.Sparsity:P2} |");
            log($"{name} {r.Pattern}: ppl {ppl.Perplexity:F2}, prune {seconds:F1} s wall, {cpu:F1} s CPU, {r}; capture {r.Layers.Sum(l => l.Capture.TotalSeconds):F1} s, solve {r.Layers.Sum(l => l.Solve.TotalSeconds):F1} s, propagate {r.Layers.Sum(l => l.Propagate.TotalSeconds):F1} s");
        }
        return string.Join(Environment.NewLine, rows);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void PerplexityTable()
    {
        // LORS_PRUNE_LOG=file streams the log while the test runs (xunit shows output only at the end).
        var file = Environment.GetEnvironmentVariable("LORS_PRUNE_LOG");
        var table = Run(line =>
        {
            output.WriteLine(line);
            if (file is not null) File.AppendAllText(file, line + Environment.NewLine);
        });
        output.WriteLine(table);
        if (file is not null) File.AppendAllText(file, table + Environment.NewLine);
    }

    private sealed class InlineProgress(Action<PruneProgress> report) : IProgress<PruneProgress>
    {
        public void Report(PruneProgress value) => report(value);
    }
}
