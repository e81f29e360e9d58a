// Building a model: from a Hugging Face folder (config.json + safetensors, validated tensor by tensor),
// or randomly initialized from a config (benchmarks). Saving writes a folder Hugging Face loads unchanged.
using Lors.Autograd;
using Lors.Models.Formats;
using Lors.Tensors;

namespace Lors.Models.Llama;

public sealed partial class LlamaModel
{
    /// <summary>Loads config.json and the weights of a Hugging Face Llama folder; weights are converted to computeType.</summary>
    /// <remarks>Each tensor travels from its shard to the device through one bounded host buffer of
    /// <paramref name="stagingBytes"/> (positioned reads, no memory mapping), so loading a 7B model never holds more
    /// than that on the host beyond the model itself when the device is the CPU.</remarks>
    public static LlamaModel Load(string directory, Device? device = null, DType computeType = DType.F32, int stagingBytes = TensorStaging.DefaultBytes)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"model folder '{directory}' does not exist");
        var config = LlamaConfig.Load(directory);
        using var reader = HfWeightsReader.Open(directory);
        CheckConfigAgainstCheckpoint(config, reader, Path.Combine(directory, "config.json"));
        var expected = ExpectedShapes(config);
        foreach (var name in reader.Names)
        {
            if (expected.ContainsKey(name) || name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)) continue;
            if (name == "lm_head.weight" && config.TieWordEmbeddings) continue;   // identical to the embedding (checked above)
            throw new InvalidDataException($"{directory}: unexpected tensor '{name}' (not part of a Llama with {config.NumHiddenLayers} layers)");
        }
        var dev = device ?? Device.Cpu;
        using var _ = TensorScope.Detached();
        using var staging = new TensorStaging(stagingBytes);
        Variable Read(string name)
        {
            if (!reader.Contains(name)) throw new InvalidDataException($"{directory}: tensor '{name}' is missing");
            var (file, entry) = reader.Find(name);
            var want = expected[name];
            if (!entry.Shape.Select(d => (int)d).SequenceEqual(want))
                throw new InvalidDataException($"{directory}: tensor '{name}' has shape [{string.Join(", ", entry.Shape)}] but config.json implies {Tensor.ShapeString(want)}");
            var dtype = entry.DType switch
            {
                SafeDType.F32 => DType.F32, SafeDType.BF16 => DType.BF16, SafeDType.F16 => DType.F16, SafeDType.F64 => DType.F64,
                _ => throw new InvalidDataException($"{directory}: tensor '{name}' has dtype {entry.DType}, expected a float type"),
            };
            // NaN/Inf weights would only show up later as a NaN perplexity or empty tokens: refuse them by name.
            // On the CPU the mapped bytes are scanned before the copy; on a GPU a reduction runs where the data lands.
            if (dev.IsCpu) FiniteScan.Check(file, entry);
            using var raw = Tensor.Empty(want, dtype, dev);
            long baseOffset = raw.Offset * dtype.Size();
            staging.Read(file, entry, (chunk, at) => raw.Backend.CopyFromHost(chunk, raw.Storage, baseOffset + at));
            if (!dev.IsCpu) FiniteScan.CheckOnDevice(raw, file, entry);
            return new Variable(raw.DType == computeType ? raw.View() : raw.To(computeType), requiresGrad: false, name);
        }
        return Build(config, Read, computeType, dev);
    }

    /// <summary>A randomly initialized model (normal(0, 0.02) weights, unit norms), deterministic for a seed.</summary>
    /// <param name="makeLinear">Builds each decoder linear from its fresh weight as it is made (e.g. pruned and stored
    /// compressed), so a large model is never held dense as a whole; null makes plain Linears.</param>
    public static LlamaModel CreateRandom(LlamaConfig config, ulong seed, Device? device = null, DType computeType = DType.F32,
        Func<string, Variable, ILinear>? makeLinear = null)
    {
        var dev = device ?? Device.Cpu;
        var shapes = ExpectedShapes(config);
        using var _ = TensorScope.Detached();
        ulong k = 0;
        Variable Make(string name)
        {
            var shape = shapes[name];
            var t = name.EndsWith("norm.weight", StringComparison.Ordinal)
                ? Tensor.Full(shape, 1.0, computeType, dev)
                : Ops.RandomNormal(shape, seed * 1000003 + k, 0, 0.02, computeType, dev);
            k++;
            return new Variable(t, false, name);
        }
        return Build(config, Make, computeType, dev, makeLinear);
    }

    private static LlamaModel Build(LlamaConfig c, Func<string, Variable> get, DType computeType, Device device,
        Func<string, Variable, ILinear>? makeLinear = null)
    {
        makeLinear ??= (name, w) => new Linear(name, w);
        var embed = get("model.embed_tokens.weight");
        var layers = new LlamaLayer[c.NumHiddenLayers];
        for (int i = 0; i < layers.Length; i++)
        {
            var proj = Projections.All.ToDictionary(p => p, p => makeLinear(Projections.ParameterName(i, p), get(Projections.ParameterName(i, p))));
            layers[i] = new LlamaLayer(i, c, get($"model.layers.{i}.input_layernorm.weight"), get($"model.layers.{i}.post_attention_layernorm.weight"), proj);
        }
        var norm = get("model.norm.weight");
        var head = c.TieWordEmbeddings ? embed : get("lm_head.weight");
        return new LlamaModel(c, embed, layers, norm, head, computeType, device);
    }

    /// <summary>Every tensor name of a Hugging Face Llama checkpoint with the shape config.json implies.</summary>
    public static Dictionary<string, int[]> ExpectedShapes(LlamaConfig c)
    {
        int h = c.HiddenSize, q = c.NumAttentionHeads * c.HeadDim, kv = c.NumKeyValueHeads * c.HeadDim, f = c.IntermediateSize;
        var s = new Dictionary<string, int[]> { ["model.embed_tokens.weight"] = [c.VocabSize, h], ["model.norm.weight"] = [h] };
        if (!c.TieWordEmbeddings) s["lm_head.weight"] = [c.VocabSize, h];
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            s[$"model.layers.{i}.input_layernorm.weight"] = [h];
            s[$"model.layers.{i}.post_attention_layernorm.weight"] = [h];
            s[Projections.ParameterName(i, Projection.Q)] = [q, h];
            s[Projections.ParameterName(i, Projection.K)] = [kv, h];
            s[Projections.ParameterName(i, Projection.V)] = [kv, h];
            s[Projections.ParameterName(i, Projection.O)] = [h, q];
            s[Projections.ParameterName(i, Projection.Gate)] = [f, h];
            s[Projections.ParameterName(i, Projection.Up)] = [f, h];
            s[Projections.ParameterName(i, Projection.Down)] = [h, f];
        }
        return s;
    }

    /// <summary>
    /// Writes config.json and the weights (in <paramref name="storeType"/>, default the config's dtype) into
    /// <paramref name="directory"/>, and copies tokenizer and generation files from <paramref name="copyFrom"/>.
    /// When copyFrom is sharded, the weights get the same shard files, tensor assignment and index; otherwise one
    /// model.safetensors. Each tensor is converted on its device and copied out through one bounded host buffer
    /// (<paramref name="staging"/>, default 64 MiB), so no host copy of the model is ever made. Each file goes to a
    /// temporary name first and is renamed into place.
    /// </summary>
    public void Save(string directory, string? copyFrom = null, DType? storeType = null, IEnumerable<(string name, Tensor value)>? overrides = null,
        TensorStaging? staging = null)
    {
        Directory.CreateDirectory(directory);
        var store = storeType ?? StoreType();
        var replaced = overrides?.ToDictionary(o => o.name, o => o.value) ?? new();
        var own = staging is null ? new TensorStaging() : null;
        var buffer = staging ?? own!;
        try
        {
            var tensors = new List<TensorToWrite>();
            foreach (var (name, v) in Parameters())
            {
                var src = replaced.TryGetValue(name, out var r) ? r : v.Data;
                // A NaN/Inf weight (a pruning or merge gone wrong, or overflow in the storage dtype) is refused before
                // a byte is written: a saved model must load again, and loading refuses non-finite weights.
                using (var stored = src.DType == store ? null : src.To(store))
                    if (!Ops.AllFinite(stored ?? src))
                        throw new InvalidDataException($"tensor '{name}' to save: holds a value that is not finite in {store.Name()} (weights must be finite); nothing was written");
                tensors.Add(TensorToWrite.Streamed(name, ToSafe(store), src.Shape.Select(d => (long)d).ToArray(), s => buffer.Write(src, store, s)));
            }
            var metadata = new Dictionary<string, string> { ["format"] = "pt" };
            var layout = copyFrom is null ? null : SafetensorsWriter.ReadLayout(copyFrom);
            if (layout is null) SafetensorsWriter.WriteSharded(directory, tensors, long.MaxValue, metadata);
            else SafetensorsWriter.WriteLayout(directory, tensors, layout, metadata);
        }
        finally
        {
            own?.Dispose();
        }
        Config.Save(Path.Combine(directory, "config.json"));
        if (copyFrom is not null) CopyAuxiliaryFiles(copyFrom, directory);
    }

    /// <summary>
    /// Writes the model as a Hugging Face folder (see <see cref="Save"/>) atomically: everything goes to a temporary
    /// sibling folder that is renamed into place, so a failure never leaves a half-written outDir. An existing outDir
    /// is an error unless force; the source folder itself is refused.
    /// </summary>
    public void SaveFolder(string outDir, string? copyFrom = null, bool force = false, DType? storeType = null, TensorStaging? staging = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        var target = Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        if (copyFrom is not null && Path.GetFullPath(copyFrom).TrimEnd(Path.DirectorySeparatorChar) == target)
            throw new ArgumentException($"output folder '{outDir}' is the source model folder; choose another", nameof(outDir));
        if (File.Exists(target)) throw new IOException($"output '{outDir}' exists and is a file, not a folder");
        if (Directory.Exists(target) && !force) throw new IOException($"output folder '{outDir}' already exists (use --force to replace it)");
        var parent = Path.GetDirectoryName(target);
        if (!string.IsNullOrEmpty(parent)) Directory.CreateDirectory(parent);
        var tmp = $"{target}.tmp-{Guid.NewGuid():N}";
        long need = Parameters().Sum(p => p.value.Data.Numel) * (storeType ?? StoreType()).Size();
        long? free = FreeBytes(string.IsNullOrEmpty(parent) ? "." : parent);
        if (free is { } f && f < need)
            throw new IOException($"not enough disk space for '{outDir}': the weights need {need / 1e9:F2} GB, {f / 1e9:F2} GB are free; nothing was written");
        try
        {
            Save(tmp, copyFrom, storeType, staging: staging);
            if (Directory.Exists(target))
            {
                // Move the old folder aside first so the new one appears in a single rename.
                var old = $"{target}.old-{Guid.NewGuid():N}";
                Directory.Move(target, old);
                Directory.Move(tmp, target);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(tmp, target);
        }
        catch (IOException e) when (AtomicFile.IsDiskFull(e))
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw new IOException($"the disk filled while writing '{outDir}' (the weights need {need / 1e9:F2} GB); the partial folder was removed and nothing was written under that name", e);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
    }

    private DType StoreType() => Config.TorchDType?.ToLowerInvariant() switch
    {
        "bfloat16" => DType.BF16, "float16" => DType.F16, "float32" => DType.F32, _ => DType.BF16,
    };

    /// <summary>Free bytes on the file system holding <paramref name="dir"/>, or null where it cannot be told.</summary>
    private static long? FreeBytes(string dir)
    {
        try { return new DriveInfo(Path.GetFullPath(dir)).AvailableFreeSpace; }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Copies tokenizer and generation files (whichever exist) between model folders.</summary>
    public static void CopyAuxiliaryFiles(string from, string to)
    {
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.model" })
        {
            var src = Path.Combine(from, f);
            if (!File.Exists(src) || Path.GetFullPath(src) == Path.GetFullPath(Path.Combine(to, f))) continue;
            var tmp = Path.Combine(to, f + ".tmp");
            try
            {
                File.Copy(src, tmp, overwrite: true);
                File.Move(tmp, Path.Combine(to, f), overwrite: true);
            }
            catch (IOException e)   // e.g. a full disk: .NET's text does not always say which file
            {
                try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                throw new IOException($"copying {src} to {Path.Combine(to, f)}: {e.Message.Split('\n')[0].Trim()}", e);
            }
        }
    }

    private static SafeDType ToSafe(DType t) => t switch
    {
        DType.F32 => SafeDType.F32, DType.BF16 => SafeDType.BF16, DType.F16 => SafeDType.F16, DType.F64 => SafeDType.F64,
        _ => throw new ArgumentException($"cannot store weights as {t.Name()}"),
    };
}
