// The eight tasks, each as its harness YAML (lm_eval/tasks/...) defines doc_to_text, doc_to_choice and doc_to_target.
using System.Text.RegularExpressions;

namespace Lors.Models.Evaluation.Tasks;

/// <summary>super_glue/boolq: "{{passage}}\nQuestion: {{question}}?\nAnswer:", choices no/yes, acc.</summary>
public sealed class BoolQ : ZeroShotTask
{
    public override string Name => "boolq";
    public override string Dataset => "aps/super_glue (boolq)";
    public override string Split => "validation";
    public override TaskDoc Build(TaskRow row) =>
        SharedContext(row, $"{row.Str("passage")}\nQuestion: {row.Str("question")}?\nAnswer:", ["no", "yes"], row.Int("label"));
}

/// <summary>glue/rte: "{{sentence1}}\nQuestion: {{sentence2}} True or False?\nAnswer:", choices True/False (0 = entailment), acc.</summary>
public sealed class Rte : ZeroShotTask
{
    public override string Name => "rte";
    public override string Dataset => "nyu-mll/glue (rte)";
    public override string Split => "validation";
    public override TaskDoc Build(TaskRow row) =>
        SharedContext(row, $"{row.Str("sentence1")}\nQuestion: {row.Str("sentence2")} True or False?\nAnswer:", ["True", "False"], row.Int("label"));
}

/// <summary>hellaswag: query = preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()), endings preprocessed; acc, acc_norm.</summary>
public sealed partial class HellaSwag : ZeroShotTask
{
    public override string Name => "hellaswag";
    public override string Dataset => "Rowan/hellaswag";
    public override string Split => "validation";
    public override bool ReportsAccNorm => true;

    public override TaskDoc Build(TaskRow row)
    {
        var ctx = row.Str("ctx_a") + " " + Capitalize(row.Str("ctx_b"));
        var query = Preprocess(row.Str("activity_label") + ": " + ctx);
        var choices = row.StrList("endings").Select(Preprocess).ToList();
        return SharedContext(row, query, choices, row.Int("label"));
    }

    /// <summary>The harness's utils.preprocess: strip, " [title]" to ". ", drop [bracketed] artifacts, "  " to " " (one pass).</summary>
    public static string Preprocess(string text)
    {
        text = text.Trim();
        text = text.Replace(" [title]", ". ");
        text = Brackets().Replace(text, "");
        return text.Replace("  ", " ");
    }

    /// <summary>Python's str.capitalize(): the first character upper case, the rest lower case.</summary>
    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    [GeneratedRegex(@"\[.*?\]")]
    private static partial Regex Brackets();
}

/// <summary>
/// winogrande (winogrande_xl): partial scoring. Each option fills the blank in its own context,
/// sentence[:blank] + option; the continuation " " + sentence[blank+1:].strip() is shared; answer "1"/"2"; acc.
/// </summary>
public sealed class WinoGrande : ZeroShotTask
{
    public override string Name => "winogrande";
    public override string Dataset => "allenai/winogrande (winogrande_xl)";
    public override string Split => "validation";

    public override TaskDoc Build(TaskRow row)
    {
        var sentence = row.Str("sentence");
        int blank = sentence.IndexOf('_');
        if (blank < 0) throw row.Error("the sentence has no '_' blank");
        var target = sentence[(blank + 1)..].Trim();
        var contexts = new[] { sentence[..blank] + row.Str("option1"), sentence[..blank] + row.Str("option2") };
        var answer = row.Str("answer").Trim();
        int gold = answer switch
        {
            "1" => 0,
            "2" => 1,
            _ => throw row.Error($"answer \"{answer}\" is out of range (expected \"1\" or \"2\"; the test split has no answers)"),
        };
        return new TaskDoc(row.Where, contexts.Select(c => (c, TargetDelimiter + target)).ToList(), contexts, gold);
    }
}

/// <summary>ai2_arc (ARC-Easy / ARC-Challenge) test: "Question: {{question}}\nAnswer:", choices.text, gold = choices.label.index(answerKey); acc, acc_norm.</summary>
public sealed class Arc(string name, string config) : ZeroShotTask
{
    public override string Name => name;
    public override string Dataset => $"allenai/ai2_arc ({config})";
    public override string Split => "test";
    public override bool ReportsAccNorm => true;

    public override TaskDoc Build(TaskRow row) =>
        LabeledChoices(row, $"Question: {row.Str("question")}\nAnswer:", row.Str("answerKey"));

    /// <summary>choices {text, label}; the gold is the answer key's position among the labels.</summary>
    internal static TaskDoc LabeledChoices(TaskRow row, string context, string answerKey)
    {
        var choices = row.Struct("choices");
        var text = choices.StrList("text");
        var labels = choices.StrList("label");
        if (text.Count != labels.Count)
            throw row.Error($"choices has {text.Count} texts but {labels.Count} labels");
        int gold = labels.ToList().IndexOf(answerKey);
        if (gold < 0) throw row.Error($"answerKey \"{answerKey}\" is not among the choice labels [{string.Join(", ", labels)}]");
        return SharedContext(row, context, text, gold);
    }
}

/// <summary>openbookqa (main) test: context = question_stem, choices.text, gold = choices.label.index(answerKey.lstrip()); acc, acc_norm.</summary>
public sealed class OpenBookQa : ZeroShotTask
{
    public override string Name => "openbookqa";
    public override string Dataset => "allenai/openbookqa (main)";
    public override string Split => "test";
    public override bool ReportsAccNorm => true;

    public override TaskDoc Build(TaskRow row) =>
        Arc.LabeledChoices(row, row.Str("question_stem"), row.Str("answerKey").TrimStart());
}

/// <summary>piqa (baber/piqa) validation: "Question: {{goal}}\nAnswer:", choices [sol1, sol2], gold = label; acc, acc_norm.</summary>
public sealed class Piqa : ZeroShotTask
{
    public override string Name => "piqa";
    public override string Dataset => "baber/piqa";
    public override string Split => "validation";
    public override bool ReportsAccNorm => true;

    public override TaskDoc Build(TaskRow row) =>
        SharedContext(row, $"Question: {row.Str("goal")}\nAnswer:", [row.Str("sol1"), row.Str("sol2")], row.Int("label"));
}
