// What `lors info` reports about a Hugging Face Llama folder, read tensor by tensor through a bounded staging buffer
// (never the whole model in memory): parameter count from the headers, per-layer sparsity of the adapted matrices
// [out, in], and the pattern they follow: dense, unstructured x%, or the strongest N:M every matrix satisfies.
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using Lors.Models.Formats;
using Lors.Models.Llama;
using Lors.Train.Pruning;

namespace Lors.Train.Inspection;

public sealed record FolderInspection(LlamaConfig Config, long Parameters, IReadOnlyList<string> StoredDTypes, int Shards,
    IReadOnlyList<LayerSparsity> Layers, SparsityPattern.NM? NM, TimeSpan Elapsed)
{
    /// <summary>Below this fraction of zeros a folder counts as dense (random or trained weights hold a few exact zeros).</summary>
    public const double DenseBelow = 0.01;

    public double Sparsity => (double)Layers.Sum(l => l.Zeros) / Math.Max(1, Layers.Sum(l => l.Weights));

    /// <summary>"2:4", "4:8", ..., "unstructured 50.0%" or "dense".</summary>
    public string Pattern => NM is not null && Sparsity > 0 ? NM.ToString()
        : Sparsity < DenseBelow ? "dense"
        : $"unstructured {(Sparsity * 100).ToString("0.0", CultureInfo.InvariantCulture)}%";

    public static FolderInspection Inspect(string modelDir, int stagingBytes = TensorStaging.DefaultBytes)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        if (!Directory.Exists(modelDir)) throw new DirectoryNotFoundException($"model folder '{modelDir}' does not exist");
        var config = LlamaConfig.Load(modelDir);
        using var reader = HfWeightsReader.Open(modelDir);
        // Sizes in config.json are checked against the tensor headers before anything is sized by them.
        LlamaModel.CheckConfigAgainstCheckpoint(config, reader, Path.Combine(modelDir, "config.json"));
        var shapes = LlamaModel.ExpectedShapes(config);
        long parameters = 0;
        var dtypes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in reader.Names)
        {
            if (name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)) continue;
            var (_, e) = reader.Find(name);
            parameters += e.ElementCount;
            dtypes.Add(SafeDTypes.ToName(e.DType));
        }
        foreach (var (name, want) in shapes)
        {
            if (!reader.TryFind(name, out _, out var e)) throw new InvalidDataException($"{modelDir}: tensor '{name}' is missing");
            if (!e.Shape.Select(d => (int)d).SequenceEqual(want))
                throw new InvalidDataException($"{modelDir}: tensor '{name}' has shape {e.ShapeText} but config.json implies [{string.Join(",", want)}]");
        }

        using var staging = new TensorStaging(stagingBytes);
        var layers = new List<LayerSparsity>();
        int max4 = 0, max8 = 0;          // most nonzeros in any group of 4 (8) consecutive inputs of any row
        bool ok4 = true, ok8 = true;     // every matrix's input width divides into groups of 4 (8)
        for (int l = 0; l < config.NumHiddenLayers; l++)
        {
            var by = new Dictionary<Projection, double>();
            long weights = 0, zeros = 0;
            foreach (var p in Projections.All)
            {
                var name = Projections.ParameterName(l, p);
                var (file, entry) = reader.Find(name);
                int size = SafeDTypes.Size(entry.DType);
                if (entry.DType is not (SafeDType.F32 or SafeDType.BF16 or SafeDType.F16 or SafeDType.F64))
                    throw new InvalidDataException($"{modelDir}: tensor '{name}' has dtype {SafeDTypes.ToName(entry.DType)}, expected a float type");
                long cols = entry.Shape[1];
                ok4 &= cols % 4 == 0;
                ok8 &= cols % 8 == 0;
                long z = 0;
                staging.Read(file, entry, (chunk, at) =>
                {
                    CheckFinite(file, entry, chunk, at);
                    var (cz, c4, c8) = ScanChunk(chunk, size);
                    z += cz;
                    max4 = Math.Max(max4, c4);
                    max8 = Math.Max(max8, c8);
                });
                by[p] = (double)z / entry.ElementCount;
                weights += entry.ElementCount;
                zeros += z;
            }
            layers.Add(new LayerSparsity(l, by, weights, zeros));
        }
        // The other tensors (embedding, norms, lm_head) are read for finiteness only: a NaN anywhere is refused by name.
        var scanned = Enumerable.Range(0, config.NumHiddenLayers).SelectMany(l => Projections.All.Select(p => Projections.ParameterName(l, p))).ToHashSet(StringComparer.Ordinal);
        foreach (var name in reader.Names.Where(n => !scanned.Contains(n)))
        {
            var (file, entry) = reader.Find(name);
            if (entry.DType is SafeDType.F32 or SafeDType.BF16 or SafeDType.F16 or SafeDType.F64)
                staging.Read(file, entry, (chunk, at) => CheckFinite(file, entry, chunk, at));
        }
        SparsityPattern.NM? nm = ok4 && max4 <= 1 ? new(1, 4) : ok8 && max8 <= 2 ? new(2, 8) : ok4 && max4 <= 2 ? new(2, 4) : ok8 && max8 <= 4 ? new(4, 8) : null;
        return new FolderInspection(config, parameters, dtypes.ToList(), reader.Files.Count, layers, nm, sw.Elapsed);
    }

    private static void CheckFinite(SafetensorsFile file, SafetensorsEntry entry, ReadOnlySpan<byte> chunk, long at)
    {
        long bad = FiniteScan.FirstNonFinite(chunk, entry.DType);
        if (bad < 0) return;
        long index = at / SafeDTypes.Size(entry.DType) + bad;
        throw new SafetensorsFormatException(file.FilePath, entry.Name,
            FiniteScan.Describe(index, entry.Shape, FiniteScan.ValueAt(chunk, entry.DType, bad)) + " (weights must be finite)");
    }

    /// <summary>Zeros (either sign) in a chunk of little-endian floats, and the most nonzeros in one aligned group of 4 and of 8.
    /// Chunks start at 64-byte multiples of a row-major matrix whose width is a multiple of the group, so groups stay whole.</summary>
    internal static (long zeros, int max4, int max8) ScanChunk(ReadOnlySpan<byte> chunk, int size) => size switch
    {
        2 => Scan(MemoryMarshal.Cast<byte, ushort>(chunk), (ushort)0x7FFF),
        4 => Scan(MemoryMarshal.Cast<byte, uint>(chunk), 0x7FFFFFFFu),
        _ => Scan(MemoryMarshal.Cast<byte, ulong>(chunk), 0x7FFFFFFFFFFFFFFFUL),
    };

    private static (long zeros, int max4, int max8) Scan<T>(ReadOnlySpan<T> v, T magnitude) where T : unmanaged, IBinaryInteger<T>
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian; this reader needs a little-endian machine");
        long zeros = 0;
        int max4 = 0, max8 = 0;
        int i = 0;
        for (; i + 8 <= v.Length; i += 8)
        {
            int a = 0, b = 0;
            for (int k = 0; k < 4; k++) a += (v[i + k] & magnitude) != T.Zero ? 1 : 0;
            for (int k = 4; k < 8; k++) b += (v[i + k] & magnitude) != T.Zero ? 1 : 0;
            zeros += 8 - a - b;
            max4 = Math.Max(max4, Math.Max(a, b));
            max8 = Math.Max(max8, a + b);
        }
        for (; i < v.Length; i += 4)   // a tail of 4 (a matrix width of 4 mod 8); no group of 8 is whole there
        {
            int a = 0;
            for (int k = i; k < Math.Min(i + 4, v.Length); k++) a += (v[k] & magnitude) != T.Zero ? 1 : 0;
            zeros += Math.Min(4, v.Length - i) - a;
            max4 = Math.Max(max4, a);
        }
        return (zeros, max4, max8);
    }
}
