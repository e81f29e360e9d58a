// A live progress bar for training: step, loss, tokens/s and ETA; plain when --json or when output is redirected.
using Lors.Train.Training;
using Spectre.Console;

namespace Lors.Cli;

public static class TrainUi
{
    public static T Run<T>(bool quiet, TrainOptions options, Func<IProgress<TrainProgress>, IProgress<string>, T> work)
    {
        if (quiet || Console.IsOutputRedirected)
        {
            var plain = new SyncProgress<TrainProgress>(p =>
            {
                if (!quiet && (p.Step % Math.Max(1, options.LogEvery) == 0 || p.Step == p.TotalSteps || p.EvalLoss is not null))
                    Console.WriteLine(Line(p));
            });
            return work(plain, new SyncProgress<string>(m => { if (!quiet) Console.WriteLine(m); }));
        }
        T result = default!;
        AnsiConsole.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("preparing", maxValue: 1);
                result = work(new SyncProgress<TrainProgress>(p =>
                {
                    task.MaxValue = p.TotalSteps;
                    task.Value = p.Step;
                    task.Description = Markup.Escape(Line(p));
                }), new SyncProgress<string>(m => task.Description = Markup.Escape(m)));
            });
        return result;
    }

    public static string Line(TrainProgress p) =>
        $"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} lr {p.Lr:E2} |g| {p.GradNorm:F2} {p.TokensPerSecond:F0} tok/s" +
        (p.EvalLoss is { } e ? $" eval {e:F4} (ppl {p.EvalPerplexity:F2})" : "");
}
