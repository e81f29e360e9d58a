// trainer_state.json: written beside state.safetensors, read back with every field checked for type and range
// (errors name the file and the field); "run" holds the settings that decide the result, compared on resume.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lors.Train.Data;

namespace Lors.Train.Training;

public static partial class TrainingStateStore
{
    private static void WriteJson(string path, TrainingState s, AdamW optimizer)
    {
        var run = new JsonObject();
        foreach (var (k, v) in s.Run.OrderBy(kv => kv.Key, StringComparer.Ordinal)) run[k] = v;
        var o = new JsonObject
        {
            ["format_version"] = FormatVersion,
            ["step"] = s.Step,
            ["optimizer_step"] = s.OptimizerStep,
            ["epoch"] = s.Cursor.Epoch,
            ["index"] = s.Cursor.Index,
            // A ulong does not fit a JSON number that every reader keeps exact, so it is a decimal string.
            ["rng_state"] = s.RngState.ToString(CultureInfo.InvariantCulture),
            ["options_hash"] = s.OptionsHash,
            ["elapsed_seconds"] = s.ElapsedSeconds,
            // Doubles are written in their shortest round-trip form, so the resumed means are bit-identical.
            ["log_window"] = new JsonObject { ["loss_sum"] = s.Window.LossSum, ["steps"] = s.Window.Steps },
            ["run"] = run,
            ["parameters"] = new JsonArray(optimizer.Parameters.Select(p => (JsonNode)p.Name).ToArray()),
            ["saved_utc"] = DateTime.UtcNow.ToString("O"),
        };
        string text = o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
        fs.Write(System.Text.Encoding.UTF8.GetBytes(text));
        fs.Flush(flushToDisk: true);
    }

    /// <summary>The settings recorded in a checkpoint's trainer_state.json (format version and "run" checked, nothing else).</summary>
    public static IReadOnlyDictionary<string, string> ReadRun(string dir)
    {
        var (path, o) = Parse(Path.Combine(dir, StateFile));
        return Run(path, o);
    }

    private static (string Path, JsonObject Object) Parse(string path)
    {
        JsonNode? n;
        var info = new FileInfo(path);
        if (info.Exists && info.Length > 16 << 20) throw new InvalidDataException($"{path}: {info.Length} bytes, too large for a trainer state");
        try { n = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: malformed JSON: {Cli1(e.Message)}", e); }
        if (n is not JsonObject o) throw new InvalidDataException($"{path}: expected a JSON object, got {Fields.Show(n)}");
        long version = new Fields(path, o).Int("format_version", 0, int.MaxValue);
        if (version != FormatVersion) throw new InvalidDataException($"{path}: \"format_version\" is {version}, this build reads checkpoints of version {FormatVersion}");
        return (path, o);
    }

    private static Dictionary<string, string> Run(string path, JsonObject o)
    {
        var run = new Dictionary<string, string>();
        foreach (var (k, v) in new Fields(path, o).Object("run"))
            run[k] = v is JsonValue jv && jv.GetValueKind() == JsonValueKind.String ? jv.GetValue<string>()
                : throw new InvalidDataException($"{path}: \"run.{k}\" must be a string, got {Fields.Show(v)}");
        return run;
    }

    private static TrainingState ReadJson(string path, AdamW optimizer, TrainingStateLimits? limits)
    {
        (path, var o) = Parse(path);
        var f = new Fields(path, o);
        var names = f.StringArray("parameters");
        var expected = optimizer.Parameters.Select(p => p.Name).ToArray();
        if (!names.SequenceEqual(expected))
            throw new InvalidDataException($"{path}: \"parameters\" [{string.Join(", ", names.Take(3))}{(names.Length > 3 ? ", ..." : "")}] " +
                $"({names.Length}) do not match the trainer's ({expected.Length})");

        int maxStep = limits?.TotalSteps ?? int.MaxValue;
        int step = (int)f.Int("step", 0, maxStep, limits is null ? null : "the run's total steps");
        int optStep = (int)f.Int("optimizer_step", 0, step, "at most \"step\"");
        if (optStep != step) throw new InvalidDataException($"{path}: \"optimizer_step\" is {optStep} but \"step\" is {step}; they must be equal");
        long microBatches = (long)step * (limits?.GradAccum ?? 1);
        int epoch = (int)f.Int("epoch", 0, limits is null ? int.MaxValue : microBatches, limits is null ? null : "the micro-batches drawn so far");
        int index = (int)f.Int("index", 0, limits?.TrainExamples ?? int.MaxValue, limits is null ? null : "the training examples");
        if (limits is not null && index % limits.BatchSize != 0)
            throw new InvalidDataException($"{path}: \"index\" {index} is not a multiple of the batch size {limits.BatchSize}");
        if (limits is not null && (step == 0) != (index == 0 && epoch == 0))
            throw new InvalidDataException($"{path}: \"index\" {index} and \"epoch\" {epoch} do not fit \"step\" {step}");
        ulong rng = f.UInt64String("rng_state");
        string hash = f.String("options_hash");
        double elapsed = f.Number("elapsed_seconds", 0, double.MaxValue);
        var window = f.Object("log_window");
        var wf = new Fields(path, window, "log_window.");
        var logWindow = new LogWindow(wf.Number("loss_sum", double.MinValue, double.MaxValue), (int)wf.Int("steps", 0, step));
        var run = Run(path, o);
        return new TrainingState(step, optStep, new DataCursor(epoch, index), rng, hash, elapsed) { Run = run, Window = logWindow };
    }

    private static string Cli1(string message) => message.Split('\n')[0].Trim();

    /// <summary>Typed, range-checked access to one JSON object's fields; every error names the file and the field.</summary>
    private sealed class Fields(string path, JsonObject o, string prefix = "")
    {
        private JsonNode Get(string key) => o.TryGetPropertyValue(key, out var v) && v is not null ? v
            : throw new InvalidDataException($"{path}: \"{prefix}{key}\" is missing");

        private InvalidDataException Bad(string key, string expected, JsonNode? v) =>
            new($"{path}: \"{prefix}{key}\" must be {expected}, got {Show(v)}");

        public static string Show(JsonNode? v)
        {
            var s = v?.ToJsonString() ?? "null";
            return s.Length > 40 ? s[..40] + "..." : s;
        }

        public long Int(string key, long min, long max, string? maxMeaning = null)
        {
            var v = Get(key);
            string range = $"an integer in [{min}, {max}]{(maxMeaning is null ? "" : $" ({maxMeaning})")}";
            if (v is not JsonValue jv || jv.GetValueKind() != JsonValueKind.Number || !jv.TryGetValue<JsonElement>(out var el)
                || !el.TryGetInt64(out long x))
                throw Bad(key, range, v);
            return x < min || x > max ? throw Bad(key, range, v) : x;
        }

        public double Number(string key, double min, double max)
        {
            var v = Get(key);
            if (v is not JsonValue jv || jv.GetValueKind() != JsonValueKind.Number) throw Bad(key, "a number", v);
            double x = jv.GetValue<double>();
            return double.IsFinite(x) && x >= min && x <= max ? x : throw Bad(key, $"a finite number >= {min}", v);
        }

        public string String(string key)
        {
            var v = Get(key);
            return v is JsonValue jv && jv.GetValueKind() == JsonValueKind.String ? jv.GetValue<string>() : throw Bad(key, "a string", v);
        }

        public ulong UInt64String(string key)
        {
            var v = Get(key);
            if (v is JsonValue jv && jv.GetValueKind() == JsonValueKind.String
                && ulong.TryParse(jv.GetValue<string>(), NumberStyles.None, CultureInfo.InvariantCulture, out var x)) return x;
            throw Bad(key, "a decimal string of an unsigned 64-bit integer", v);
        }

        public JsonObject Object(string key) => Get(key) as JsonObject ?? throw Bad(key, "an object", Get(key));

        public string[] StringArray(string key)
        {
            var v = Get(key);
            if (v is not JsonArray a) throw Bad(key, "an array of strings", v);
            return a.Select(x => x is JsonValue xv && xv.GetValueKind() == JsonValueKind.String ? xv.GetValue<string>() : throw Bad(key, "an array of strings", v)).ToArray();
        }
    }

    /// <summary>The settings that differ between a checkpoint's run and the current one, as "key: then -> now" lines.</summary>
    public static List<string> Differences(IReadOnlyDictionary<string, string> then, IReadOnlyDictionary<string, string> now) =>
        then.Keys.Union(now.Keys).Order(StringComparer.Ordinal)
            .Where(k => !then.TryGetValue(k, out var a) || !now.TryGetValue(k, out var b) || a != b)
            .Select(k => $"{k} {(then.TryGetValue(k, out var a) ? a : "(absent)")} -> {(now.TryGetValue(k, out var b) ? b : "(absent)")}")
            .ToList();
}
