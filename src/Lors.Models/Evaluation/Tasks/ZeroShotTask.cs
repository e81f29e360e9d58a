// A multiple-choice task as lm-evaluation-harness 0.4 defines it: each dataset row becomes a TaskDoc of
// (context, continuation) requests, the choices (whose length in characters acc_norm divides by) and the gold index.
namespace Lors.Models.Evaluation.Tasks;

/// <summary>
/// One document: Requests[i] is scored for choice i. Ordinary tasks share one context and put " " + choice in the
/// continuation; WinoGrande ("multiple input") puts each option into its own context and scores the shared remainder.
/// </summary>
public sealed record TaskDoc(string Where, IReadOnlyList<(string Context, string Continuation)> Requests, IReadOnlyList<string> Choices, int Gold);

public abstract class ZeroShotTask
{
    /// <summary>The harness's target_delimiter (the default, which none of these tasks overrides).</summary>
    public const string TargetDelimiter = " ";

    public abstract string Name { get; }
    /// <summary>The Hugging Face dataset the harness reads, e.g. "aps/super_glue (boolq)".</summary>
    public abstract string Dataset { get; }
    /// <summary>The split the harness evaluates: test where the task has one, else validation.</summary>
    public abstract string Split { get; }
    /// <summary>Whether the harness reports acc_norm for this task (its metric_list).</summary>
    public virtual bool ReportsAccNorm => false;

    /// <summary>The document of one row; throws TaskDataException naming the file and row on bad input.</summary>
    public abstract TaskDoc Build(TaskRow row);

    /// <summary>The paper's order: BoolQ, RTE, HellaSwag, WinoGrande, ARC-e, ARC-c, OBQA, then PIQA.</summary>
    public static IReadOnlyList<ZeroShotTask> All { get; } =
        [new BoolQ(), new Rte(), new HellaSwag(), new WinoGrande(), new Arc("arc_easy", "ARC-Easy"), new Arc("arc_challenge", "ARC-Challenge"), new OpenBookQa(), new Piqa()];

    public static ZeroShotTask Get(string name) =>
        All.FirstOrDefault(t => t.Name.Equals(name.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown task '{name}' (known: {string.Join(", ", All.Select(t => t.Name))})");

    /// <summary>The common shape: one context, " " + choice as each continuation.</summary>
    protected static TaskDoc SharedContext(TaskRow row, string context, IReadOnlyList<string> choices, long gold)
    {
        if (choices.Count == 0) throw row.Error("the document has no answer choices");
        if (gold < 0 || gold >= choices.Count)
            throw row.Error($"label {gold} is out of range for {choices.Count} choices (expected 0..{choices.Count - 1})");
        return new TaskDoc(row.Where, choices.Select(c => (context, TargetDelimiter + c)).ToList(), choices, (int)gold);
    }

    /// <summary>Python's len(): code points, not UTF-16 units (acc_norm divides by it).</summary>
    public static int CharLength(string s)
    {
        int n = 0;
        foreach (var _ in s.EnumerateRunes()) n++;
        return n;
    }
}
