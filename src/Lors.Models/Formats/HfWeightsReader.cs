// Opens a Hugging Face checkpoint folder: sharded (model.safetensors.index.json + shards) or a single
// model.safetensors, and finds any tensor by name across the shards.
using System.Text.Json;

namespace Lors.Models.Formats;

public sealed class HfWeightsReader : IDisposable
{
    private readonly Dictionary<string, SafetensorsFile> _fileOf;   // tensor name -> its shard
    private readonly List<SafetensorsFile> _files;
    private readonly List<string> _names;

    /// <summary>The folder as given to Open.</summary>
    public string Directory { get; }
    /// <summary>Tensor names in the order of the index (or of the single file's header).</summary>
    public IEnumerable<string> Names => _names;
    public IReadOnlyList<SafetensorsFile> Files => _files;

    private HfWeightsReader(string directory, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> fileOf, List<string> names)
    {
        Directory = directory;
        _files = files;
        _fileOf = fileOf;
        _names = names;
    }

    /// <summary>Opens <paramref name="directory"/>; a path to a .safetensors file is also accepted.</summary>
    public static HfWeightsReader Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (File.Exists(directory))
            return FromSingle(directory, SafetensorsFile.Open(directory));
        if (!System.IO.Directory.Exists(directory))
            throw new SafetensorsFormatException(directory, null, "checkpoint folder not found");

        string index = Path.Combine(directory, SafetensorsWriter.IndexFileName);
        if (File.Exists(index)) return FromIndex(directory, index);
        string single = Path.Combine(directory, SafetensorsWriter.SingleFileName);
        if (File.Exists(single)) return FromSingle(directory, SafetensorsFile.Open(single));
        throw new SafetensorsFormatException(directory, null,
            $"neither {SafetensorsWriter.IndexFileName} nor {SafetensorsWriter.SingleFileName} found");
    }

    private static HfWeightsReader FromSingle(string directory, SafetensorsFile file)
    {
        var fileOf = file.Entries.ToDictionary(e => e.Name, _ => file, StringComparer.Ordinal);
        return new HfWeightsReader(directory, [file], fileOf, file.Entries.Select(e => e.Name).ToList());
    }

    private static HfWeightsReader FromIndex(string directory, string index)
    {
        var weightMap = ReadWeightMap(index);
        var shardByName = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        var files = new List<SafetensorsFile>();
        try
        {
            var fileOf = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var (tensor, shard) in weightMap)
            {
                if (!shardByName.TryGetValue(shard, out var file))
                {
                    string shardPath = Path.Combine(directory, shard);
                    if (!File.Exists(shardPath))
                        throw new SafetensorsFormatException(index, tensor, $"shard '{shard}' does not exist");
                    file = SafetensorsFile.Open(shardPath);
                    shardByName[shard] = file;
                    files.Add(file);
                }
                if (!file.Contains(tensor))
                    throw new SafetensorsFormatException(index, tensor, $"mapped to shard '{shard}', which does not contain it");
                fileOf[tensor] = file;
            }
            // A shard the index does not name holds tensors nobody would read: the index is stale or incomplete.
            foreach (var path in System.IO.Directory.EnumerateFiles(directory, "model-*-of-*.safetensors").Order(StringComparer.Ordinal))
                if (!shardByName.ContainsKey(Path.GetFileName(path)))
                    throw new SafetensorsFormatException(index, null, $"shard '{Path.GetFileName(path)}' is in the folder but the index does not name it (a stale or incomplete index)");
            return new HfWeightsReader(directory, files, fileOf, weightMap.Select(kv => kv.Key).ToList());
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    internal static List<KeyValuePair<string, string>> ReadWeightMap(string index)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(index)); }
        catch (JsonException e) { throw new SafetensorsFormatException(index, null, $"not valid JSON ({e.Message})", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new SafetensorsFormatException(index, null, "missing 'weight_map' object");
            var result = new List<KeyValuePair<string, string>>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new SafetensorsFormatException(index, p.Name, $"weight_map value must be a shard file name, found {p.Value.ValueKind}");
                string shard = p.Value.GetString()!;
                // Shards live in the checkpoint folder; refuse paths that would reach elsewhere.
                if (shard.Length == 0 || Path.IsPathRooted(shard) || shard.Split('/', '\\').Contains(".."))
                    throw new SafetensorsFormatException(index, p.Name, $"invalid shard file name '{shard}'");
                if (!seen.Add(p.Name))
                    throw new SafetensorsFormatException(index, p.Name, "appears twice in weight_map");
                result.Add(new(p.Name, shard));
            }
            return result;
        }
    }

    public bool Contains(string name) => _fileOf.ContainsKey(name);

    public bool TryFind(string name, out SafetensorsFile file, out SafetensorsEntry entry)
    {
        if (_fileOf.TryGetValue(name, out file!))
        {
            entry = file.Get(name);
            return true;
        }
        entry = null!;
        return false;
    }

    public (SafetensorsFile File, SafetensorsEntry Entry) Find(string name) =>
        TryFind(name, out var f, out var e) ? (f, e) : throw new SafetensorsFormatException(Directory, name, "no such tensor in this checkpoint");

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
