// The adapters of one model: attaching them (wrapping the targeted linears), their trainable parameters,
// saving/loading (safetensors + adapter_config.json) and merging into the base weights.
using Lors.Autograd;
using Lors.Models.Formats;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Train.Adapters;

public sealed class AdapterSet : IDisposable
{
    public const string WeightsFile = "adapter_model.safetensors";
    public const string ConfigFile = "adapter_config.json";

    private readonly LlamaModel _model;
    private readonly List<(LlamaLayer layer, Projection projection, AdaptedLinear adapter)> _slots = new();

    private AdapterSet(LlamaModel model, AdapterConfig config)
    {
        _model = model;
        Config = config;
    }

    public AdapterConfig Config { get; }
    public IReadOnlyList<AdaptedLinear> Adapters => _slots.Select(s => s.adapter).ToList();

    /// <summary>Trainable parameters by name: "{linear name without .weight}.lors_A" / ".lors_B" (fp32).</summary>
    public IReadOnlyList<(string Name, Variable Param)> Parameters =>
        _slots.SelectMany(s => new[] { (ParamName(s.adapter, "A"), s.adapter.A), (ParamName(s.adapter, "B"), s.adapter.B) }).ToList();

    public long ParameterCount => _slots.Sum(s => s.adapter.A.Data.Numel + s.adapter.B.Data.Numel);

    private static string ParamName(AdaptedLinear a, string which) => a.Name[..^".weight".Length] + ".lors_" + which;

    /// <summary>
    /// Wraps every targeted linear of the model. A = 0 always; B is LoRA-initialized (uniform +-1/sqrt(in), seeded):
    /// call <see cref="Init.GradientInit"/> afterwards for the LoRS gradient-based init.
    /// </summary>
    public static AdapterSet Attach(LlamaModel model, AdapterConfig config)
    {
        config.Validate();
        var set = new AdapterSet(model, config);
        using var _ = TensorScope.Detached();
        ulong k = 0;
        foreach (var (layer, p, linear) in model.Linears().ToList())
        {
            if (!config.Targets.Contains(p)) continue;
            if (linear is AdaptedLinear) throw new InvalidOperationException($"{linear.Name} already has an adapter");
            int r = config.Rank;
            if (r > Math.Min(linear.InFeatures, linear.OutFeatures))
                throw new ArgumentOutOfRangeException(nameof(config), $"rank {r} exceeds the size of {linear.Name} [{linear.OutFeatures}, {linear.InFeatures}]");
            var a = new Variable(Tensor.Zeros([linear.OutFeatures, r], DType.F32, model.Device), true);
            double bound = 1.0 / Math.Sqrt(linear.InFeatures);
            var b = new Variable(Ops.RandomUniform([r, linear.InFeatures], config.Seed * 7919 + k++, -bound, bound, DType.F32, model.Device), true);
            var adapted = new AdaptedLinear(linear, a, b, config);
            a.Name = ParamName(adapted, "A");
            b.Name = ParamName(adapted, "B");
            layer[p] = adapted;
            set._slots.Add((layer, p, adapted));
        }
        return set;
    }

    /// <summary>Puts the base linears back (the adapters keep their weights).</summary>
    public void Detach()
    {
        foreach (var (layer, p, a) in _slots)
            if (ReferenceEquals(layer[p], a)) layer[p] = a.Base;
    }

    /// <summary>
    /// Moves the adapters onto compressed 2:4 base weights: detaches, compresses the model's linears (Compression24)
    /// and wraps them again with the same A and B. A model that is not exactly 2:4 stays dense (the result says why).
    /// </summary>
    public Sparse.Compression24.Result CompressBase()
    {
        Detach();
        var result = Sparse.Compression24.Compress(_model);
        for (int i = 0; i < _slots.Count; i++)
        {
            var (layer, p, a) = _slots[i];
            var again = new AdaptedLinear(layer[p], a.A, a.B, a.Config);
            layer[p] = again;
            _slots[i] = (layer, p, again);
        }
        return result;
    }

    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var tensors = Parameters.Select(p =>
        {
            var bytes = new byte[p.Param.Data.ByteCount];
            using var cpu = p.Param.Data.To(Device.Cpu, DType.F32);
            cpu.Backend.CopyToHost(cpu.Storage, 0, bytes);
            return new TensorToWrite(p.Name, SafeDType.F32, cpu.Shape.Select(d => (long)d).ToArray(), bytes);
        }).ToList();
        var meta = new Dictionary<string, string> { ["format"] = "lors-adapter", ["format_version"] = AdapterConfig.CurrentFormatVersion.ToString() };
        SafetensorsWriter.Write(Path.Combine(directory, WeightsFile), tensors, meta);
        AtomicFile.WriteText(Path.Combine(directory, ConfigFile), Config.ToJson());
    }

    /// <summary>Attaches adapters described by a saved folder and loads their weights.</summary>
    public static AdapterSet Load(LlamaModel model, string directory)
    {
        var cfgPath = Path.Combine(directory, ConfigFile);
        if (!File.Exists(cfgPath)) throw new FileNotFoundException($"adapter folder '{directory}' has no {ConfigFile}", cfgPath);
        var config = AdapterConfig.FromJson(File.ReadAllText(cfgPath), cfgPath);
        foreach (var (_, p, linear) in model.Linears())
            if (config.Targets.Contains(p) && config.Rank > Math.Min(linear.InFeatures, linear.OutFeatures))
                throw new InvalidDataException($"{cfgPath}: field 'rank': {config.Rank} exceeds the size of {linear.Name} [{linear.OutFeatures}, {linear.InFeatures}]");
        var path = Path.Combine(directory, WeightsFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"adapter folder '{directory}' has no {WeightsFile}", path);
        using var file = SafetensorsFile.Open(path);
        var set = Attach(model, config);
        try
        {
            LoadWeights(set, file, path);
            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }

    /// <summary>Adapter values beyond this magnitude are refused: trained adapters stay many orders below it, and
    /// s * A * B of such values would overflow or swamp the base weights when merged (a diverged or corrupt run).</summary>
    public const float MaxAdapterMagnitude = 1e6f;

    private static void LoadWeights(AdapterSet set, SafetensorsFile file, string path)
    {
        var expected = set.Parameters.ToDictionary(p => p.Name, p => p.Param);
        foreach (var e in file.Entries)
            if (!expected.ContainsKey(e.Name)) throw new InvalidDataException($"{path}: unexpected tensor '{e.Name}' for this model and config");
        foreach (var (name, param) in expected)
        {
            if (!file.TryGet(name, out var entry)) throw new InvalidDataException($"{path}: tensor '{name}' is missing");
            if (entry!.DType != SafeDType.F32 || !entry.Shape.SequenceEqual(param.Shape.Select(d => (long)d)))
                throw new InvalidDataException($"{path}: tensor '{name}' is {entry.DType} [{string.Join(", ", entry.Shape)}], expected F32 {Tensor.ShapeString(param.Shape)}");
            CheckValues(file, entry, path);
            using var _ = TensorScope.Detached();
            using var t = Tensor.FromBytes(file.GetBytes(entry), param.Shape, DType.F32, param.Data.Device);
            Ops.CopyInto(t, param.Data);
        }
    }

    private static void CheckValues(SafetensorsFile file, SafetensorsEntry entry, string path)
    {
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.GetBytes(entry));
        if (values.Length == 0) return;
        // IndexOfMaxMagnitude returns the first NaN when there is one, else the largest |x| (Inf included).
        int i = System.Numerics.Tensors.TensorPrimitives.IndexOfMaxMagnitude(values);
        float v = values[i];
        if (float.IsFinite(v) && MathF.Abs(v) <= MaxAdapterMagnitude) return;
        string what = FiniteScan.Describe(i, entry.Shape, v);
        throw new InvalidDataException(float.IsFinite(v)
            ? $"{path}: tensor '{entry.Name}': {what}, beyond the plausible adapter range +-{MaxAdapterMagnitude:G0} (a diverged run?)"
            : $"{path}: tensor '{entry.Name}': {what} (adapter weights must be finite)");
    }

    /// <summary>
    /// Writes each adapter's merged weight into the base weight (in place) and detaches the adapters.
    /// For every method but LoRA, zeros of W must stay exactly zero; the report says whether they did.
    /// </summary>
    public MergeReport MergeIntoBase()
    {
        var rows = new List<MergeReport.Row>();
        foreach (var (layer, p, a) in _slots)
        {
            using var scope = TensorScope.Begin();
            if (a.Base is Compressed24Linear c) { rows.Add(MergeCompressed(a, c)); continue; }
            using var maskBefore = NonZeroF32(a.Weight.Data);
            long zerosBefore = a.Weight.Data.Numel - Ops.CountNonZero(maskBefore);
            using var merged = a.MergedWeight();
            // Finite adapters can still overflow in s * A * B; nothing is written when they do.
            if (!Ops.AllFinite(merged))
                throw new InvalidDataException($"merged weight '{a.Name}' is not finite (NaN or Inf after adding the {Config.Method} adapter); nothing was written");
            using var maskAfter = NonZeroF32(merged);
            using var kept = Ops.Mul(maskAfter, maskBefore);
            long nonZeroAfter = Ops.CountNonZero(maskAfter);
            long filled = nonZeroAfter - Ops.CountNonZero(kept); // non-zero after the merge where the base was zero
            Ops.CopyInto(merged, a.Weight.Data);
            rows.Add(new MergeReport.Row(a.Name, a.Weight.Data.Numel, zerosBefore, a.Weight.Data.Numel - nonZeroAfter, filled));
        }
        Detach();
        return new MergeReport(Config.Method, rows);
    }

    /// <summary>
    /// The merge on a compressed 2:4 base: the new kept values replace the old ones in place (the metadata, i.e. the
    /// mask, does not change), so dropped positions stay zero by construction; a kept zero must stay zero too.
    /// </summary>
    private MergeReport.Row MergeCompressed(AdaptedLinear a, Compressed24Linear c)
    {
        var values = c.Compressed.Values;
        long elements = (long)c.OutFeatures * c.InFeatures;
        long zerosBefore = elements - Ops.CountNonZero(values);
        using var merged = Ops.MaskedLowRankMerge24(c.Compressed, a.A.Data, a.B.Data, a.Scale, dense: false);
        if (!Ops.AllFinite(merged))
            throw new InvalidDataException($"merged weight '{a.Name}' is not finite (NaN or Inf after adding the {Config.Method} adapter); nothing was written");
        using var maskBefore = NonZeroF32(values);
        using var maskAfter = NonZeroF32(merged);
        using var kept = Ops.Mul(maskAfter, maskBefore);
        long nonZeroAfter = Ops.CountNonZero(maskAfter);
        long filled = nonZeroAfter - Ops.CountNonZero(kept);
        Ops.CopyInto(merged, values);
        return new MergeReport.Row(a.Name, elements, zerosBefore, elements - nonZeroAfter, filled);
    }

    private static Tensor NonZeroF32(Tensor w)
    {
        using var m = Ops.NonZeroMask(w);
        return m.To(DType.F32);
    }

    public void Dispose()
    {
        Detach();
        foreach (var (_, _, a) in _slots)
        {
            a.A.Data.Dispose();
            a.B.Data.Dispose();
            a.A.ZeroGrad();
            a.B.ZeroGrad();
        }
    }
}

/// <summary>Per-matrix sparsity before and after a merge; FilledZeros counts zeros of W that became non-zero.</summary>
public sealed record MergeReport(AdapterMethod Method, IReadOnlyList<MergeReport.Row> Rows)
{
    public sealed record Row(string Name, long Elements, long ZerosBefore, long ZerosAfter, long FilledZeros);

    public long FilledZeros => Rows.Sum(r => r.FilledZeros);
    public double SparsityBefore => Rows.Sum(r => (double)r.ZerosBefore) / Math.Max(1, Rows.Sum(r => r.Elements));
    public double SparsityAfter => Rows.Sum(r => (double)r.ZerosAfter) / Math.Max(1, Rows.Sum(r => r.Elements));
    public bool SparsityPreserved => FilledZeros == 0;
}
