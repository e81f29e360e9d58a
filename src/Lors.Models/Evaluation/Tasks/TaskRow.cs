// One row of a task's dataset (from parquet or JSON lines) as plain values: string, long, double, bool, lists and
// nested rows. Typed accessors throw TaskDataException naming the file, the row and the column.
using System.Collections;
using System.Globalization;

namespace Lors.Models.Evaluation.Tasks;

/// <summary>A dataset file that does not have the schema a task expects, or a row whose value is out of range.</summary>
public sealed class TaskDataException(string message) : Exception(message);

public sealed class TaskRow
{
    private readonly IReadOnlyDictionary<string, object?> _values;

    public TaskRow(string file, string where, IReadOnlyDictionary<string, object?> values)
    {
        File = file;
        Where = where;
        _values = values;
    }

    /// <summary>The file the row came from.</summary>
    public string File { get; }
    /// <summary>"row 12" (parquet, 0-based) or "line 13" (JSON lines, 1-based), plus the column path of nested rows.</summary>
    public string Where { get; }

    public TaskDataException Error(string message) => new($"{File} {Where}: {message}");

    public bool Has(string column) => _values.TryGetValue(column, out var v) && v is not null;

    private object Value(string column)
    {
        if (!_values.TryGetValue(column, out var v))
            throw Error($"column '{column}' is missing (columns: {string.Join(", ", _values.Keys)})");
        return v ?? throw Error($"column '{column}' is null");
    }

    public string Str(string column) => Value(column) switch
    {
        string s => s,
        ReadOnlyMemory<char> m => m.ToString(),
        var v => throw Error($"column '{column}' must be a string, got {Describe(v)}"),
    };

    /// <summary>An integer column; integer-valued strings ("3") and booleans (false = 0, true = 1) are accepted too.</summary>
    public long Int(string column) => Value(column) switch
    {
        long l => l,
        int i => i,
        short s => s,
        sbyte s => s,
        byte b => b,
        ushort u => u,
        uint u => u,
        bool b => b ? 1 : 0,
        double d when d == Math.Floor(d) && Math.Abs(d) < 1e15 => (long)d,
        string s when long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => l,
        ReadOnlyMemory<char> m when long.TryParse(m.Span.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => l,
        var v => throw Error($"column '{column}' must be an integer, got {Describe(v)}"),
    };

    public IReadOnlyList<string> StrList(string column)
    {
        var v = Value(column);
        if (v is string or ReadOnlyMemory<char> || v is not IList list)
            throw Error($"column '{column}' must be a list of strings, got {Describe(v)}");
        var r = new List<string>(list.Count);
        for (int i = 0; i < list.Count; i++)
            r.Add(list[i] switch
            {
                string s => s,
                ReadOnlyMemory<char> m => m.ToString(),
                var e => throw Error($"column '{column}' item {i} must be a string, got {Describe(e)}"),
            });
        return r;
    }

    public TaskRow Struct(string column) => Value(column) switch
    {
        IReadOnlyDictionary<string, object?> d => new TaskRow(File, $"{Where} '{column}'", d),
        var v => throw Error($"column '{column}' must be a struct, got {Describe(v)}"),
    };

    private static string Describe(object? v) => v switch
    {
        null => "null",
        string s => $"the string \"{(s.Length > 40 ? s[..40] + "..." : s)}\"",
        ReadOnlyMemory<char> m => Describe(m.ToString()),
        IList l => $"a list of {l.Count}",
        IReadOnlyDictionary<string, object?> => "a struct",
        _ => $"{v.GetType().Name} {Convert.ToString(v, CultureInfo.InvariantCulture)}",
    };
}
