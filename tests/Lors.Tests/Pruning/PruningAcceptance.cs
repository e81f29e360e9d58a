// The acceptance table of docs/PRUNING.md: perplexity of the fixture model on brown.test after each method x pattern,
// calibrated on 128 x 256 tokens of brown.train (seed 0), asserted against the table's values and its ordering
// (SparseGPT < Wanda < magnitude within a pattern; 50% < 4:8 < 2:4 within a method). Slow: run it in Release with
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
    /// <summary>
    /// Relative tolerance against the documented perplexities: the run is deterministic for a given thread count, but
    /// the GEMM's split of K across threads changes fp32 rounding; 0.5% is far below the gaps the ordering relies on.
    /// </summary>
    internal const double RelTol = 0.005;

    /// <summary>Prunes a fresh copy of the fixture per row and returns the markdown table (also usable from a CLI).</summary>
    public static string Run(Action<string> log, int samples = 128, int seqLen = 256, ulong seed = 0) => Run(log, out _, samples, seqLen, seed);

    /// <summary>As <see cref="Run(Action{string}, int, int, ulong)"/>, also returning (row name, pattern, perplexity) per row.</summary>
    public static string Run(Action<string> log, out List<(string Name, string Pattern, double Ppl)> results, int samples = 128, int seqLen = 256, ulong seed = 0)
    {
        results = [];
        var tok = Tokenizer.Load(PrunePaths.TinyModel);
        var stream = tok.Encode(File.ReadAllText(PrunePaths.BrownTest), addSpecialTokens: false);
        var calib = CalibrationData.FromText(tok, PrunePaths.BrownTrain, samples, seqLen, seed);
        var rows = new List<string> { "| method | pattern | perplexity | prune wall (s) | prune CPU (s) | sparsity |", "|---|---|---:|---:|---:|---:|" };
        using (var dense = LlamaModel.Load(PrunePaths.TinyModel))
        {
            var ppl = Perplexity.Evaluate(dense, stream, 256);
            rows.Add($"| dense | - | {ppl.Perplexity:F2} | - | - | 0% |");
            results.Add(("dense", "-", ppl.Perplexity));
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
            results.Add((name, r.Pattern.ToString()!, ppl.Perplexity));
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
        }, out var results);
        output.WriteLine(table);
        if (file is not null) File.AppendAllText(file, table + Environment.NewLine);
        CheckAgainstDoc(results, DocumentedTable());
    }

    [Fact]
    public void DocCheckAcceptsTheDocAndRejectsAWrongValueOrOrder()
    {
        var doc = DocumentedTable();
        Assert.Equal(10, doc.Count);
        var rows = doc.Select(kv => (kv.Key.Name, kv.Key.Pattern, kv.Value)).ToList();
        CheckAgainstDoc(rows, doc);
        var off = rows.Select(r => r.Name == "wanda" && r.Pattern == "2:4" ? (r.Name, r.Pattern, r.Value * (1 + 2 * RelTol)) : r).ToList();
        Assert.ThrowsAny<Exception>(() => CheckAgainstDoc(off, doc));
        // The same perturbation written into the expectation too: values agree, so only the ordering check can catch it.
        var swapped = rows.Select(r => r.Name == "sparsegpt" && r.Pattern == "4:8" ? (r.Name, r.Pattern, 90.0) : r).ToList();
        Assert.ThrowsAny<Exception>(() => CheckAgainstDoc(swapped, swapped.ToDictionary(r => (r.Name, r.Pattern), r => r.Item3)));
    }

    /// <summary>The (method, pattern) -> perplexity rows of the acceptance table in docs/PRUNING.md.</summary>
    internal static Dictionary<(string Name, string Pattern), double> DocumentedTable()
    {
        var doc = File.ReadAllLines(Path.Combine(RepoPaths.Root, "docs", "PRUNING.md"));
        int start = Array.FindIndex(doc, l => l.StartsWith("| method | pattern | perplexity"));
        Assert.True(start >= 0, "docs/PRUNING.md has no acceptance table");
        var table = new Dictionary<(string, string), double>();
        foreach (var line in doc.Skip(start + 2).TakeWhile(l => l.StartsWith('|')))
        {
            var cells = line.Trim('|').Split('|').Select(c => c.Trim().Replace("**", "")).ToArray();
            table[(Normalize(cells[0]), cells[1])] = double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture);
        }
        return table;
    }

    /// <summary>Every measured row must match its documented value within RelTol, and the ordering must hold.</summary>
    internal static void CheckAgainstDoc(List<(string Name, string Pattern, double Ppl)> results, Dictionary<(string Name, string Pattern), double> doc)
    {
        var got = results.ToDictionary(r => (Normalize(r.Name), r.Pattern), r => r.Ppl);
        Assert.Equal(doc.Keys.OrderBy(k => k.ToString()), got.Keys.OrderBy(k => k.ToString()));
        foreach (var (key, expected) in doc)
            Assert.True(Math.Abs(got[key] - expected) <= RelTol * expected, $"{key}: perplexity {got[key]:F2}, docs/PRUNING.md says {expected:F2} (tolerance {RelTol:P1})");
        double P(string name, string pattern) => got[(name, pattern)];
        foreach (var pattern in new[] { "50%", "2:4", "4:8" })
        {
            Assert.True(P("sparsegpt", pattern) < P("wanda", pattern), $"SparseGPT must beat Wanda at {pattern}");
            Assert.True(P("dense", "-") < P("sparsegpt", pattern), $"dense must beat SparseGPT at {pattern}");
        }
        Assert.True(P("wanda", "50%") < P("magnitude (per matrix)", "50%"), "Wanda must beat magnitude at 50%");
        Assert.True(P("wanda", "2:4") < P("magnitude", "2:4"), "Wanda must beat magnitude at 2:4");
        foreach (var m in new[] { "wanda", "sparsegpt" })
            Assert.True(P(m, "50%") < P(m, "4:8") && P(m, "4:8") < P(m, "2:4"), $"{m}: 50% < 4:8 < 2:4 must hold");
    }

    // "magnitude (PerMatrix)" in a run is "magnitude (per matrix)" in the doc; method names compare case-insensitively.
    private static string Normalize(string name) => name.ToLowerInvariant().Replace("permatrix", "per matrix").Replace("perrow", "per row");

    private sealed class InlineProgress(Action<PruneProgress> report) : IProgress<PruneProgress>
    {
        public void Report(PruneProgress value) => report(value);
    }
}
