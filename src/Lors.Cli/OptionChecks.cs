// Validation of command options: each command lists its checks in Check(OptionChecks); the first failure becomes the
// one-line error, naming the flag and the value found. Also the closest valid option name for an unknown option.
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lors.Cli;

public sealed class OptionChecks
{
    public string? Error { get; private set; }

    private OptionChecks Fail(string message)
    {
        Error ??= message;
        return this;
    }

    public OptionChecks Required(string flag, object? value) => value is null ? Fail($"{flag} is required") : this;

    public OptionChecks Positive(string flag, long value) => value < 1 ? Fail($"{flag} must be a positive integer, got {value}") : this;
    public OptionChecks Positive(string flag, long? value) => value is { } v ? Positive(flag, v) : this;
    public OptionChecks NonNegative(string flag, long value) => value < 0 ? Fail($"{flag} must be >= 0, got {value}") : this;
    public OptionChecks AtLeast(string flag, long value, long min) => value < min ? Fail($"{flag} must be >= {min}, got {value}") : this;

    public OptionChecks Positive(string flag, double value) =>
        !double.IsFinite(value) || value <= 0 ? Fail($"{flag} must be a finite number > 0, got {Show(value)}") : this;
    public OptionChecks NonNegative(string flag, double value) =>
        !double.IsFinite(value) || value < 0 ? Fail($"{flag} must be a finite number >= 0, got {Show(value)}") : this;

    /// <summary>lo &lt;= value &lt;= hi, with either end open when asked.</summary>
    public OptionChecks Range(string flag, double value, double lo, double hi, bool loOpen = false, bool hiOpen = false)
    {
        bool ok = double.IsFinite(value) && (loOpen ? value > lo : value >= lo) && (hiOpen ? value < hi : value <= hi);
        return ok ? this : Fail($"{flag} must be in {(loOpen ? "(" : "[")}{lo}, {hi}{(hiOpen ? ")" : "]")}, got {Show(value)}");
    }

    public OptionChecks NotEmpty(string flag, string? value) => value is not null && value.Trim().Length == 0 ? Fail($"{flag} must not be empty") : this;

    /// <summary>value (case-insensitive) is one of <paramref name="allowed"/>; otherwise names the closest.</summary>
    public OptionChecks OneOf(string flag, string? value, params string[] allowed)
    {
        if (value is null || allowed.Contains(value.Trim().ToLowerInvariant())) return this;
        var near = Closest(value, allowed);
        return Fail($"{flag}: unknown value '{value}' (expected {string.Join(", ", allowed)}{(near is null ? "" : $"; did you mean {near}?")})");
    }

    /// <summary>Runs a parser of the value (e.g. a pattern or a device) and turns its exception into an error naming the flag.</summary>
    public OptionChecks Parses(string flag, string? value, Action<string> parse)
    {
        if (value is null || Error is not null) return this;
        try { parse(value); return this; }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or OverflowException)
        {
            var msg = Cli.Clean(e.Message);
            return Fail(msg.Contains(flag, StringComparison.Ordinal) ? msg : $"{flag}: {msg}");
        }
    }

    public OptionChecks Check(bool ok, string message) => ok ? this : Fail(message);

    public ValidationResult Result => Error is null ? ValidationResult.Success() : ValidationResult.Error(Error);

    private static string Show(double v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The candidate with the smallest edit distance to <paramref name="word"/>, if it is plausibly a typo of it.</summary>
    public static string? Closest(string word, IEnumerable<string> candidates)
    {
        string w = word.Trim().ToLowerInvariant().TrimStart('-');
        var best = Nearest(w, candidates);
        if (best is null) return null;
        string b = best.ToLowerInvariant().TrimStart('-');
        int d = Distance(w, b);
        bool prefix = w.Length >= 2 && b.StartsWith(w, StringComparison.Ordinal);
        return prefix || d <= Math.Max(2, w.Length / 2) ? best : null;
    }

    /// <summary>The candidate nearest to <paramref name="word"/>: edit distance, each shared leading character counting 3/4 of an edit back.</summary>
    public static string? Nearest(string word, IEnumerable<string> candidates)
    {
        string w = word.Trim().ToLowerInvariant().TrimStart('-');
        return candidates.MinBy(c =>
        {
            string b = c.ToLowerInvariant().TrimStart('-');
            int prefix = 0;
            while (prefix < Math.Min(w.Length, b.Length) && w[prefix] == b[prefix]) prefix++;
            return Distance(w, b) - 0.75 * prefix;
        });
    }

    /// <summary>Optimal-string-alignment distance (Levenshtein plus adjacent transpositions).</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
