// Shared helpers for commands: common options, error printing, paths of the embedded model and text.
using System.ComponentModel;
using System.Text.Json;
using Lors.Tensors;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli;

public class CommonSettings : CommandSettings
{
    [CommandOption("--device <DEVICE>")]
    [Description("cpu, cuda, cuda:N or auto (default auto: CUDA when present)")]
    [DefaultValue("auto")]
    public string DeviceName { get; init; } = "auto";

    [CommandOption("--json")]
    [Description("Print one machine-readable JSON line instead of tables")]
    public bool Json { get; init; }

    public Device Device => Device.Parse(DeviceName);

    /// <summary>Checks every option (the device here, the rest in each command's Check); the first failure is the error.</summary>
    public sealed override ValidationResult Validate()
    {
        var c = new OptionChecks();
        // Spectre gives a string option followed directly by another option this placeholder instead of failing.
        foreach (var p in GetType().GetProperties())
            if (p.PropertyType == typeof(string) && p.GetValue(this) as string == "__default_command"
                && p.GetCustomAttributes(typeof(CommandOptionAttribute), true).FirstOrDefault() is CommandOptionAttribute a)
                c.Check(false, $"--{a.LongNames[0]} expects a value (write --{a.LongNames[0]}=VALUE for a value that starts with -)");
        c.Parses("--device", DeviceName, d => Device.Parse(d));
        Check(c);
        return c.Result;
    }

    protected virtual void Check(OptionChecks c) { }
}

public static class Cli
{
    /// <summary>Prints a short error (the innermost useful message, at most two lines) to stderr.</summary>
    public static void Error(Exception e, string[]? args = null)
    {
        var inner = e;
        while (inner is System.Reflection.TargetInvocationException or AggregateException && inner.InnerException is not null) inner = inner.InnerException;
        var msg = Clean(inner.Message);
        if (inner.GetType().Namespace == typeof(CommandParseException).Namespace && args is not null) msg = LorsApp.ExplainParseError(msg, args);
        AnsiConsole.Console.Profile.Out.Writer.Flush();
        Console.Error.WriteLine($"error: {msg}");
        if (Environment.GetEnvironmentVariable("LORS_DEBUG") == "1") Console.Error.WriteLine(inner);
    }

    /// <summary>
    /// A .NET message made fit for the user: no "Actual value was N." or "(Parameter 'x')" tails, at most two lines.
    /// </summary>
    public static string Clean(string message)
    {
        var lines = message.Replace("\r", "").Split('\n')
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"\s*\(Parameter '[^']*'\)", "").TrimEnd())
            .Where(l => l.Length > 0 && !l.StartsWith("Actual value was", StringComparison.Ordinal))
            .ToList();
        if (lines.Count == 0) return "unknown error";
        return string.Join("\n", lines.Take(2));
    }

    /// <summary>The repository (or install) folder holding the embedded model and data.</summary>
    public static string AssetsRoot
    {
        get
        {
            foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            {
                var dir = new DirectoryInfo(start);
                while (dir is not null)
                {
                    if (Directory.Exists(Path.Combine(dir.FullName, "models", "tiny-llama-brown"))) return dir.FullName;
                    dir = dir.Parent;
                }
            }
            throw new DirectoryNotFoundException("could not find the embedded model folder models/tiny-llama-brown next to the tool or above the current folder");
        }
    }

    public static string EmbeddedModel => Path.Combine(AssetsRoot, "models", "tiny-llama-brown");
    public static string EmbeddedText(string split) => Path.Combine(AssetsRoot, "data", "brown", $"brown.{split}.txt");

    /// <summary>Standard input as bytes (tests substitute a stream).</summary>
    public static Func<Stream> OpenStandardInput { get; set; } = Console.OpenStandardInput;

    public static string ResolveModel(string? model) => model ?? EmbeddedModel;

    public static void WriteJson(object value) =>
        Console.WriteLine(JsonSerializer.Serialize(value, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));

    /// <summary>Runs work under a Spectre progress bar (or silently with --json / redirected output).</summary>
    public static T WithProgress<T>(bool quiet, string title, Func<Action<double, string?>, T> work)
    {
        if (quiet || Console.IsOutputRedirected) return work((_, _) => { });
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: 1.0);
                result = work((fraction, text) =>
                {
                    task.Value = Math.Clamp(fraction, 0, 1);
                    if (text is not null) task.Description = Markup.Escape(text);
                });
                task.Value = 1.0;
            });
        return result;
    }

    public static string Bytes(long b) => MemoryStats.Format(b);
}

/// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and reorder updates).</summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
