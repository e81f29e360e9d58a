// The `lors` command table: one command per job; each command's settings and --help live in Commands/.
using Lors.Cli.Commands;
using Spectre.Console.Cli;

namespace Lors.Cli;

public static class LorsApp
{
    /// <summary>Runs the tool; returns the exit code (0 ok, 1 error, 130 interrupted; parse errors are non-zero).</summary>
    public static int Run(string[] args)
    {
        var app = new CommandApp();
        app.Configure(c =>
        {
            c.SetApplicationName("lors");
            c.AddCommand<DemoCommand>("demo").WithDescription("Prune the embedded tiny model 2:4, fine-tune it with LoRS, merge, and show that sparsity survives.");
            c.AddCommand<PruneCommand>("prune").WithDescription("Prune a Hugging Face Llama (magnitude, Wanda, SparseGPT; unstructured or N:M).");
            c.AddCommand<FinetuneCommand>("finetune").WithDescription("Fine-tune adapters (LoRS, LoRA, masked, masked-ckpt) on text or Alpaca data.");
            c.AddCommand<EvalCommand>("eval").WithDescription("Perplexity of a model on a text file.");
            c.AddCommand<EvalTasksCommand>("eval-tasks").WithDescription("Zero-shot accuracy on lm-evaluation-harness tasks (BoolQ, RTE, HellaSwag, WinoGrande, ARC, OpenBookQA, PIQA).");
            c.AddCommand<GenerateCommand>("generate").WithDescription("Generate text from a prompt, streaming tokens.");
            c.AddCommand<MergeCommand>("merge").WithDescription("Merge adapters into the base weights and write a Hugging Face folder.");
            c.AddCommand<TokenizeCommand>("tokenize").WithDescription("Print the token ids of a text.");
            c.AddCommand<InfoCommand>("info").WithDescription("Architecture, parameters, dtype and per-layer sparsity of a model; devices seen.");
            c.AddCommand<BenchCommand>("bench").WithDescription("Benchmarks: `bench train` (a fine-tuning step at a real model shape).");
            c.AddCommand<SelfTestCommand>("selftest").WithDescription("Check every backend op on a device against the CPU.");
            c.SetExceptionHandler((e, _) =>
            {
                Cli.Error(e);
                return e is OperationCanceledException ? 130 : 1;
            });
        });
        return app.Run(args);
    }
}
