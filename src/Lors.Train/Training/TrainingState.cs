// Training checkpoints: OutDir/checkpoint/ holds state.safetensors (parameters and AdamW moments, F32) and
// trainer_state.json (format version, step, data cursor, RNG state, options hash). A new checkpoint is written into
// checkpoint.tmp/ and swapped in by renames; the previous one stays whole until the new one is complete.
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lors.Models.Formats;
using Lors.Tensors;
using Lors.Train.Data;

namespace Lors.Train.Training;

public sealed record TrainingState(int Step, int OptimizerStep, DataCursor Cursor, ulong RngState, string OptionsHash, double ElapsedSeconds);

public static class TrainingStateStore
{
    public const int FormatVersion = 1;
    public const string DirName = "checkpoint";
    public const string TensorsFile = "state.safetensors";
    public const string StateFile = "trainer_state.json";
    private const string ParamPrefix = "param/", MPrefix = "adam_m/", VPrefix = "adam_v/";

    public static string PathIn(string outDir) => Path.Combine(outDir, DirName);

    /// <summary>The checkpoint folder to resume from: checkpoint/, or checkpoint.old/ when a swap was interrupted; null if none.</summary>
    public static string? Find(string outDir)
    {
        foreach (var d in new[] { PathIn(outDir), PathIn(outDir) + ".old" })
            if (File.Exists(Path.Combine(d, StateFile)) && File.Exists(Path.Combine(d, TensorsFile))) return d;
        return null;
    }

    public static string Save(string outDir, TrainingState state, AdamW optimizer)
    {
        string final = PathIn(outDir), tmp = final + ".tmp", old = final + ".old";
        Directory.CreateDirectory(outDir);
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        Directory.CreateDirectory(tmp);

        var tensors = new List<TensorToWrite>();
        foreach (var (name, p) in optimizer.Parameters) tensors.Add(ToWrite(ParamPrefix + name, p.Data));
        foreach (var (name, m, v) in optimizer.Moments())
        {
            tensors.Add(ToWrite(MPrefix + name, m));
            tensors.Add(ToWrite(VPrefix + name, v));
        }
        SafetensorsWriter.Write(Path.Combine(tmp, TensorsFile), tensors, new Dictionary<string, string> { ["format"] = "lors-train-checkpoint" });
        WriteJson(Path.Combine(tmp, StateFile), state, optimizer);

        // Swap: final -> old, tmp -> final, drop old. At every moment one complete checkpoint is where Find() looks:
        // an old/ left by an interrupted swap is only dropped once final/ is complete again.
        if (Directory.Exists(final))
        {
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
            Directory.Move(final, old);
        }
        Directory.Move(tmp, final);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        return final;
    }

    /// <summary>Reads the state and copies parameters and moments into the live tensors (names and shapes must match).</summary>
    public static TrainingState Load(string dir, AdamW optimizer)
    {
        var state = ReadJson(Path.Combine(dir, StateFile), optimizer);
        string file = Path.Combine(dir, TensorsFile);
        using var st = SafetensorsFile.Open(file);
        foreach (var (name, p) in optimizer.Parameters) Restore(st, ParamPrefix + name, p.Data);
        foreach (var (name, m, v) in optimizer.Moments())
        {
            Restore(st, MPrefix + name, m);
            Restore(st, VPrefix + name, v);
        }
        optimizer.StepCount = state.OptimizerStep;
        return state;
    }

    private static TensorToWrite ToWrite(string name, Tensor t)
    {
        var bytes = MemoryMarshal.AsBytes(t.ToFloatArray().AsSpan()).ToArray();
        return new TensorToWrite(name, SafeDType.F32, t.Shape.Select(d => (long)d).ToArray(), bytes);
    }

    private static void Restore(SafetensorsFile st, string name, Tensor into)
    {
        if (!st.TryGet(name, out var e)) throw new InvalidDataException($"{st.FilePath}: checkpoint has no tensor '{name}'");
        if (e.DType != SafeDType.F32 || !e.Shape.SequenceEqual(into.Shape.Select(d => (long)d)))
            throw new InvalidDataException($"{st.FilePath}: '{name}' is {SafeDTypes.ToName(e.DType)} {e.ShapeText}, expected F32 {Tensor.ShapeString(into.Shape)}");
        using var src = Tensor.FromBytes(st.GetBytes(e), into.Shape, DType.F32, into.Device);
        Ops.CopyInto(src, into);
    }

    private static void WriteJson(string path, TrainingState s, AdamW optimizer)
    {
        var o = new JsonObject
        {
            ["format_version"] = FormatVersion,
            ["step"] = s.Step,
            ["optimizer_step"] = s.OptimizerStep,
            ["epoch"] = s.Cursor.Epoch,
            ["index"] = s.Cursor.Index,
            // A ulong does not fit a JSON number that every reader keeps exact, so it is a decimal string.
            ["rng_state"] = s.RngState.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["options_hash"] = s.OptionsHash,
            ["elapsed_seconds"] = s.ElapsedSeconds,
            ["parameters"] = new JsonArray(optimizer.Parameters.Select(p => (JsonNode)p.Name).ToArray()),
            ["saved_utc"] = DateTime.UtcNow.ToString("O"),
        };
        string text = o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
        fs.Write(System.Text.Encoding.UTF8.GetBytes(text));
        fs.Flush(flushToDisk: true);
    }

    private static TrainingState ReadJson(string path, AdamW optimizer)
    {
        JsonNode? n;
        try { n = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: malformed JSON: {e.Message}", e); }
        if (n is not JsonObject o) throw new InvalidDataException($"{path}: expected a JSON object");
        T Get<T>(string key) => o[key] is JsonNode v ? v.GetValue<T>() : throw new InvalidDataException($"{path}: missing \"{key}\"");
        int version = Get<int>("format_version");
        if (version != FormatVersion) throw new InvalidDataException($"{path}: checkpoint format version {version}, this build reads {FormatVersion}");
        var names = (o["parameters"] as JsonArray)?.Select(x => x!.GetValue<string>()).ToArray() ?? [];
        var expected = optimizer.Parameters.Select(p => p.Name).ToArray();
        if (!names.SequenceEqual(expected))
            throw new InvalidDataException($"{path}: checkpoint parameters [{string.Join(", ", names.Take(5))}{(names.Length > 5 ? ", ..." : "")}] " +
                $"({names.Length}) do not match the trainer's ({expected.Length})");
        return new TrainingState(Get<int>("step"), Get<int>("optimizer_step"), new DataCursor(Get<int>("epoch"), Get<int>("index")),
            ulong.Parse(Get<string>("rng_state"), System.Globalization.CultureInfo.InvariantCulture), Get<string>("options_hash"),
            Get<double>("elapsed_seconds"));
    }
}
