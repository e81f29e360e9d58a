// Training checkpoints: OutDir/checkpoint/ holds state.safetensors (parameters and AdamW moments, F32) and
// trainer_state.json (format version, step, data cursor, RNG state, the run's settings; Checkpoint.State.cs). A new
// checkpoint is written into checkpoint.tmp/ and swapped in by renames; the previous one stays whole until the new one is complete.
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lors.Models.Formats;
using Lors.Tensors;
using Lors.Train.Data;

namespace Lors.Train.Training;

/// <param name="Run">Everything that decides the result (options, method, data and model identity), as text; resume compares it.</param>
/// <param name="Window">The running sums of the metrics window not yet logged, so a resumed run logs the same means.</param>
public sealed record TrainingState(int Step, int OptimizerStep, DataCursor Cursor, ulong RngState, string OptionsHash, double ElapsedSeconds)
{
    public IReadOnlyDictionary<string, string> Run { get; init; } = new Dictionary<string, string>();
    public LogWindow Window { get; init; }
}

/// <summary>Losses summed over the steps since the last metrics line.</summary>
public readonly record struct LogWindow(double LossSum, int Steps);

/// <summary>What a checkpoint's fields may hold for the run resuming it (ranges checked on load, errors name the field).</summary>
public sealed record TrainingStateLimits(int TotalSteps, int GradAccum, int BatchSize, int TrainExamples);

public static partial class TrainingStateStore
{
    public const int FormatVersion = 2;
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

    /// <summary>
    /// For tests of interrupted writes: called at each named point of Save ("tensors-written", "state-written",
    /// "final-moved-to-old", "tmp-moved-to-final"); throwing there is a kill at that moment. Flows with the async context.
    /// </summary>
    public static Action<string>? FaultHook { get => Hook.Value; set => Hook.Value = value; }
    private static readonly AsyncLocal<Action<string>?> Hook = new();

    /// <summary>
    /// Puts a folder left by a kill in order: drops checkpoint.tmp/ (never complete), and checkpoint.old/ once checkpoint/
    /// is complete; when only checkpoint.old/ is complete (killed between the renames) it becomes checkpoint/ again.
    /// </summary>
    public static void Tidy(string outDir)
    {
        string final = PathIn(outDir), tmp = final + ".tmp", old = final + ".old";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        if (!Directory.Exists(old)) return;
        if (!IsComplete(final) && IsComplete(old))
        {
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
            Directory.Move(old, final);
        }
        else Directory.Delete(old, recursive: true);
    }

    private static bool IsComplete(string dir) => File.Exists(Path.Combine(dir, StateFile)) && File.Exists(Path.Combine(dir, TensorsFile));

    public static string Save(string outDir, TrainingState state, AdamW optimizer)
    {
        string final = PathIn(outDir), tmp = final + ".tmp", old = final + ".old";
        var fault = FaultHook;
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
        fault?.Invoke("tensors-written");
        WriteJson(Path.Combine(tmp, StateFile), state, optimizer);
        fault?.Invoke("state-written");

        // Swap: final -> old, tmp -> final, drop old. At every moment one complete checkpoint is where Find() looks:
        // an old/ left by an interrupted swap is only dropped once final/ is complete again.
        if (Directory.Exists(final))
        {
            if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
            Directory.Move(final, old);
            fault?.Invoke("final-moved-to-old");
        }
        Directory.Move(tmp, final);
        fault?.Invoke("tmp-moved-to-final");
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        return final;
    }

    /// <summary>Reads the state and copies parameters and moments into the live tensors (names and shapes must match).</summary>
    public static TrainingState Load(string dir, AdamW optimizer, TrainingStateLimits? limits = null)
    {
        var state = ReadJson(Path.Combine(dir, StateFile), optimizer, limits);
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

    /// <summary>Reads and checks trainer_state.json only (no tensors are touched).</summary>
    public static TrainingState ReadState(string dir, AdamW optimizer, TrainingStateLimits? limits = null) =>
        ReadJson(Path.Combine(dir, StateFile), optimizer, limits);

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
        var bytes = st.GetBytes(e);
        var values = MemoryMarshal.Cast<byte, float>(bytes);
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) throw new InvalidDataException($"{st.FilePath}: '{name}' holds {values[i]} at element {i}; a checkpoint must be finite");
        using var src = Tensor.FromBytes(bytes, into.Shape, DType.F32, into.Device);
        Ops.CopyInto(src, into);
    }
}
