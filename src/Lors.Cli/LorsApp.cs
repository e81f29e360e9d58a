// The `lors` command table: one command per job; each command's settings and --help live in Commands/.
// Parsing is strict: an unknown option is an error that names the closest valid option of the command.
using System.Reflection;
using System.Text.RegularExpressions;
using Lors.Cli.Commands;
using Spectre.Console.Cli;

namespace Lors.Cli;

public static class LorsApp
{
    /// <summary>Each command's name and settings type (for option suggestions and the tests that cover every option).</summary>
    public static readonly IReadOnlyDictionary<string, Type> SettingsTypes = new Dictionary<string, Type>
    {
        ["demo"] = typeof(DemoCommand.Settings), ["prune"] = typeof(PruneCommand.Settings), ["finetune"] = typeof(FinetuneCommand.Settings),
        ["eval"] = typeof(EvalCommand.Settings), ["generate"] = typeof(GenerateCommand.Settings), ["merge"] = typeof(MergeCommand.Settings),
        ["tokenize"] = typeof(TokenizeCommand.Settings), ["info"] = typeof(InfoCommand.Settings), ["bench"] = typeof(BenchCommand.Settings),
        ["selftest"] = typeof(SelfTestCommand.Settings),
    };

    /// <summary>Runs the tool; returns the exit code (0 ok, 1 error, 130 interrupted; parse errors are non-zero).</summary>
    public static int Run(string[] args)
    {
        var app = new CommandApp();
        app.Configure(c =>
        {
            c.SetApplicationName("lors");
            c.UseStrictParsing();
            c.AddCommand<DemoCommand>("demo").WithDescription("Prune the embedded tiny model 2:4, fine-tune it with LoRS, merge, and show that sparsity survives.");
            c.AddCommand<PruneCommand>("prune").WithDescription("Prune a Hugging Face Llama (magnitude, Wanda, SparseGPT; unstructured or N:M).");
            c.AddCommand<FinetuneCommand>("finetune").WithDescription("Fine-tune adapters (LoRS, LoRA, masked, masked-ckpt) on text or Alpaca data.");
            c.AddCommand<EvalCommand>("eval").WithDescription("Perplexity of a model on a text file.");
            c.AddCommand<EvalTasksCommand>("eval-tasks").WithDescription("Zero-shot accuracy on lm-evaluation-harness tasks (BoolQ, RTE, HellaSwag, WinoGrande, ARC, OpenBookQA, PIQA).");
            c.AddCommand<GenerateCommand>("generate").WithDescription("Generate text from a prompt, streaming tokens.");
            c.AddCommand<MergeCommand>("merge").WithDescription("Merge adapters into the base weights and write a Hugging Face folder.");
            c.AddCommand<TokenizeCommand>("tokenize").WithDescription("Print the token ids of a text (--text, --file, or standard input).");
            c.AddCommand<InfoCommand>("info").WithDescription("Architecture, parameters, dtype and per-layer sparsity of a model; devices seen.");
            c.AddCommand<BenchCommand>("bench").WithDescription("Benchmarks: `bench train` (a fine-tuning step at a real model shape).");
            c.AddCommand<SelfTestCommand>("selftest").WithDescription("Check every backend op on a device against the CPU.");
            c.SetExceptionHandler((e, _) =>
            {
                Cli.Error(e, args);
                return e is OperationCanceledException ? 130 : 1;
            });
        });
        return app.Run(JoinDashValues(args));
    }

    /// <summary>Spectre reads a lone "-" as a nameless option; "--file -" (standard input) becomes "--file=-".</summary>
    private static string[] JoinDashValues(string[] args)
    {
        var list = new List<string>(args.Length);
        foreach (var a in args)
        {
            if (a == "-" && list.Count > 0 && list[^1].StartsWith("--") && !list[^1].Contains('=')) list[^1] += "=-";
            else list.Add(a);
        }
        return list.ToArray();
    }

    /// <summary>The long option names (with "--") a command accepts.</summary>
    public static IReadOnlyList<string> OptionsOf(string command) =>
        SettingsTypes.TryGetValue(command, out var t)
            ? t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .SelectMany(p => p.GetCustomAttribute<CommandOptionAttribute>()?.LongNames ?? [])
                .Select(n => "--" + n).Distinct().ToList()
            : [];

    /// <summary>The first option of <paramref name="command"/> that takes a value but is followed by none.</summary>
    private static string? MissingValue(string command, string[] args)
    {
        if (!SettingsTypes.TryGetValue(command, out var t)) return null;
        var valued = t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.PropertyType != typeof(bool))
            .SelectMany(p => p.GetCustomAttribute<CommandOptionAttribute>()?.LongNames ?? []).Select(n => "--" + n).ToHashSet();
        for (int i = 0; i < args.Length; i++)
            if (valued.Contains(args[i]) && (i + 1 == args.Length || args[i + 1].StartsWith("--"))) return args[i];
        return null;
    }

    /// <summary>The option that <paramref name="value"/> was given to (--flag value or --flag=value).</summary>
    private static string? FlagOf(string[] args, string value)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (i > 0 && args[i] == value && args[i - 1].StartsWith('-')) return args[i - 1];
            int eq = args[i].IndexOf('=');
            if (args[i].StartsWith('-') && eq > 0 && args[i][(eq + 1)..] == value) return args[i][..eq];
        }
        return null;
    }

    /// <summary>Rewrites Spectre's parse errors into one line naming the command, the flag and the closest valid option.</summary>
    public static string ExplainParseError(string message, string[] args)
    {
        var command = args.FirstOrDefault(a => !a.StartsWith('-'));
        string where = command is not null && SettingsTypes.ContainsKey(command) ? command : "lors";
        var m = Regex.Match(message, @"(?:Unknown|Unexpected) option '([^']*)'");
        if (m.Success)
        {
            string flag = m.Groups[1].Value;
            string shown = flag.StartsWith('-') ? flag : (flag.Length == 1 ? "-" : "--") + flag;
            if (where == "lors") return $"lors: unknown option {shown}; give a command first ({string.Join(", ", SettingsTypes.Keys)})";
            var options = OptionsOf(where).Append("--help").ToList();
            var near = OptionChecks.Closest(shown, options);
            var nearest = near ?? OptionChecks.Nearest(shown, options);
            return $"{where}: unknown option {shown} " + (near is not null ? $"(did you mean {near}?)" : $"(the closest is {nearest}; see lors {where} --help)");
        }
        m = Regex.Match(message, @"Failed to convert '(.*)' to (\w+)");
        if (m.Success)
        {
            string value = m.Groups[1].Value, type = m.Groups[2].Value;
            if (value == "__default_command" && MissingValue(where, args) is string missing) return $"{where}: {missing} expects a value";
            string flag = FlagOf(args, value) ?? "an option";
            string expected = type switch
            {
                "Int32" => "an integer", "Int64" => "an integer", "UInt64" => "an integer >= 0", "Double" or "Single" => "a number",
                "Boolean" => "true or false", _ => type,
            };
            return $"{where}: {flag} expects {expected}, got '{value}'";
        }
        m = Regex.Match(message, @"Option '([^']*)' is defined but no value has been provided");
        if (m.Success) return $"{where}: --{m.Groups[1].Value} expects a value (write --{m.Groups[1].Value}=VALUE for a value that starts with -)";
        if (message.StartsWith("Flags cannot be assigned a value", StringComparison.Ordinal))
        {
            var flag = args.FirstOrDefault(a => a.StartsWith("--") && a.Contains('='))?.Split('=')[0];
            return $"{where}: {flag ?? "a flag"} is a flag and takes no value";
        }
        m = Regex.Match(message, @"Unknown command '([^']*)'");
        if (m.Success)
        {
            if (where == "lors")
            {
                var near = OptionChecks.Closest(m.Groups[1].Value, SettingsTypes.Keys);
                return $"lors: unknown command '{m.Groups[1].Value}' ({(near is null ? "" : $"did you mean {near}? ")}commands: {string.Join(", ", SettingsTypes.Keys)})";
            }
            return $"{where}: unexpected argument '{m.Groups[1].Value}' (options take the form --name value)";
        }
        return $"{where}: {message}";
    }
}
