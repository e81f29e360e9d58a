// metrics.jsonl: one JSON object per logged step (and per evaluation). Appended and flushed line by line so a
// crash loses at most the line being written; on resume, lines past the checkpoint's step are cut off.
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lors.Train.Training;

public sealed class MetricsLog(string path)
{
    public string Path { get; } = path;

    public void Append(JsonObject record)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        File.AppendAllText(Path, record.ToJsonString() + "\n");
    }

    /// <summary>Drops records with step > <paramref name="step"/> (from a run that went past the checkpoint being resumed).</summary>
    public void TruncateAfter(int step)
    {
        if (!File.Exists(Path)) return;
        var keep = File.ReadAllLines(Path).Where(l => StepOf(l) is int s && s <= step).ToArray();
        File.WriteAllLines(Path, keep);
    }

    /// <summary>(step, loss) of training records and (step, eval_loss) of evaluations, for plotting.</summary>
    public (List<(int Step, double Loss)> Train, List<(int Step, double Loss)> Eval) ReadHistory()
    {
        var train = new List<(int, double)>();
        var eval = new List<(int, double)>();
        if (!File.Exists(Path)) return (train, eval);
        foreach (var line in File.ReadLines(Path))
        {
            JsonObject? o;
            try { o = JsonNode.Parse(line) as JsonObject; } catch (JsonException) { continue; } // a torn last line
            if (o?["step"] is not JsonNode s) continue;
            int step = s.GetValue<int>();
            if (o["loss"] is JsonNode l) train.Add((step, l.GetValue<double>()));
            if (o["eval_loss"] is JsonNode e) eval.Add((step, e.GetValue<double>()));
        }
        return (train, eval);
    }

    private static int? StepOf(string line)
    {
        try { return (JsonNode.Parse(line) as JsonObject)?["step"]?.GetValue<int>(); }
        catch (JsonException) { return null; }
    }

    /// <summary>A double as a JSON number, or null when not finite (JSON has no NaN).</summary>
    public static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : null;
}
