// Checks that the adapted matrices (q/k/v/o/gate/up/down of every layer, [out, in]) of a model or a Hugging Face
// folder satisfy a sparsity pattern exactly, and reports sparsity per layer and projection.
using System.Text;
using Lors.Models.Formats;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Train.Pruning;

/// <summary>One matrix against a pattern: Violations counts offending N:M groups, or the zeros missing for an unstructured ratio.</summary>
public sealed record MatrixCheck(string Name, int Rows, int Cols, long Zeros, long Violations, string? FirstViolation)
{
    public double Sparsity => (double)Zeros / Math.Max(1, (long)Rows * Cols);
}

public sealed record PatternCheckResult(SparsityPattern Pattern, IReadOnlyList<MatrixCheck> Matrices)
{
    public bool Ok => Matrices.All(m => m.Violations == 0);
    public IEnumerable<MatrixCheck> Violating => Matrices.Where(m => m.Violations > 0);

    public override string ToString() => Ok
        ? $"all {Matrices.Count} matrices satisfy {Pattern}"
        : $"{Violating.Count()} of {Matrices.Count} matrices violate {Pattern}: " + string.Join("; ", Violating.Take(3).Select(m => $"{m.Name}: {m.FirstViolation}"));
}

public sealed record LayerSparsity(int Layer, IReadOnlyDictionary<Projection, double> ByProjection, long Weights, long Zeros)
{
    public double Sparsity => (double)Zeros / Math.Max(1, Weights);
}

public sealed record SparsityReport(IReadOnlyList<LayerSparsity> Layers, SparsityPattern? Detected)
{
    public double Sparsity => (double)Layers.Sum(l => l.Zeros) / Math.Max(1, Layers.Sum(l => l.Weights));

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("layer").Append(string.Concat(Projections.All.Select(p => $"{p.Short(),8}"))).AppendLine("   total");
        foreach (var l in Layers)
        {
            sb.Append($"{l.Layer,5}");
            foreach (var p in Projections.All) sb.Append($"{l.ByProjection[p] * 100,7:F2}%");
            sb.AppendLine($"{l.Sparsity * 100,7:F2}%");
        }
        sb.Append($"sparsity of the adapted weights: {Sparsity * 100:F2}%; pattern: {(Detected is null ? "none" : Detected.ToString())}");
        return sb.ToString();
    }
}

public static class SparsityCheck
{
    /// <summary>On a GPU model the counts run on the device; a matrix that fails is re-checked on the host for the message.</summary>
    public static PatternCheckResult Check(LlamaModel model, SparsityPattern pattern) =>
        new(pattern, model.Linears().Select(x => model.Device.IsCpu
            ? CheckMatrix(x.linear.Name, x.linear.Weight.Data.ToFloatArray(), x.linear.OutFeatures, x.linear.InFeatures, pattern)
            : CheckOnDevice(x.linear.Name, x.linear.Weight.Data, pattern)).ToList());

    /// <summary>
    /// Zeros from row sums of the non-zero mask; N:M from the largest non-zero count of any group (the mask viewed as
    /// [groups, M], transposed so the M-long sums run coalesced over groups). Only pass/fail comes back to the host.
    /// </summary>
    internal static MatrixCheck CheckOnDevice(string name, Tensor w, SparsityPattern pattern)
    {
        int rows = w.Shape[0], cols = w.Shape[1];
        MatrixCheck OnHost() => CheckMatrix(name, w.ToFloatArray(), rows, cols, pattern);
        long zeros = DeviceScorePruning.CountZeros(w);
        switch (pattern)
        {
            case SparsityPattern.Unstructured u:
                return zeros >= SparsityPattern.ZerosFor(u.Value, (long)rows * cols) ? new MatrixCheck(name, rows, cols, zeros, 0, null) : OnHost();
            case SparsityPattern.NM nm when cols % nm.M == 0 && rows > 0 && cols > 0:
                using (TensorScope.Begin())
                {
                    int groups = checked(rows * (cols / nm.M));
                    var nz = Ops.NonZeroMask(w).To(DType.F32).Reshape(groups, nm.M);
                    float most = Ops.Reduce(ReduceOp.Max, Ops.Sum(nz.T(), 0), 0).Item();
                    if (most <= nm.N) return new MatrixCheck(name, rows, cols, zeros, 0, null);
                }
                return OnHost();
            default:
                return OnHost();
        }
    }

    /// <summary>Checks a Hugging Face folder matrix by matrix, without building the model.</summary>
    public static PatternCheckResult Check(string modelDir, SparsityPattern pattern) =>
        new(pattern, ReadMatrices(modelDir).Select(m => CheckMatrix(m.Name, m.W, m.Rows, m.Cols, pattern)).ToList());

    public static MatrixCheck CheckMatrix(string name, ReadOnlySpan<float> w, int rows, int cols, SparsityPattern pattern)
    {
        if (w.Length != (long)rows * cols) throw new ArgumentException($"{name}: {w.Length} values for [{rows}, {cols}]");
        long zeros = 0;
        foreach (var v in w) if (v == 0) zeros++;
        switch (pattern)
        {
            case SparsityPattern.Unstructured u:
                long need = SparsityPattern.ZerosFor(u.Value, w.Length);
                return zeros >= need
                    ? new MatrixCheck(name, rows, cols, zeros, 0, null)
                    : new MatrixCheck(name, rows, cols, zeros, need - zeros, $"{zeros} zeros, {pattern} needs at least {need}");
            case SparsityPattern.NM nm:
                if (cols % nm.M != 0)
                    return new MatrixCheck(name, rows, cols, zeros, rows, $"{cols} input columns are not a multiple of M = {nm.M}");
                long bad = 0;
                string? first = null;
                for (int r = 0; r < rows; r++)
                    for (int g = 0; g < cols; g += nm.M)
                    {
                        int nz = 0;
                        for (int j = 0; j < nm.M; j++) if (w[r * cols + g + j] != 0) nz++;
                        if (nz <= nm.N) continue;
                        bad++;
                        first ??= $"row {r}, columns {g}..{g + nm.M - 1} hold {nz} nonzeros (at most {nm.N})";
                    }
                return new MatrixCheck(name, rows, cols, zeros, bad, first);
            default:
                throw new ArgumentException($"unknown pattern {pattern}", nameof(pattern));
        }
    }

    public static SparsityReport Report(LlamaModel model) =>
        BuildReport(model.Linears().Select(x => (x.layer.Index, x.projection, x.linear.Weight.Data.ToFloatArray(), x.linear.OutFeatures, x.linear.InFeatures)));

    public static SparsityReport Report(string modelDir) =>
        BuildReport(ReadMatrices(modelDir).Select(m => (m.Layer, m.Projection, m.W, m.Rows, m.Cols)));

    private static SparsityReport BuildReport(IEnumerable<(int layer, Projection p, float[] w, int rows, int cols)> mats)
    {
        var byLayer = new SortedDictionary<int, (Dictionary<Projection, double> by, long weights, long zeros)>();
        // The strongest N:M that every matrix satisfies (checked while each matrix is in memory).
        var candidates = new List<SparsityPattern.NM> { new(1, 4), new(2, 8), new(2, 4), new(4, 8) };
        foreach (var (layer, p, w, rows, cols) in mats)
        {
            long zeros = 0;
            foreach (var v in w) if (v == 0) zeros++;
            if (!byLayer.TryGetValue(layer, out var e)) e = (new Dictionary<Projection, double>(), 0, 0);
            e.by[p] = (double)zeros / w.Length;
            byLayer[layer] = (e.by, e.weights + w.Length, e.zeros + zeros);
            candidates.RemoveAll(c => CheckMatrix("", w, rows, cols, c).Violations > 0);
        }
        var layers = byLayer.Select(kv => new LayerSparsity(kv.Key, kv.Value.by, kv.Value.weights, kv.Value.zeros)).ToList();
        long total = layers.Sum(l => l.Weights), z = layers.Sum(l => l.Zeros);
        SparsityPattern? detected = candidates.Count > 0 ? candidates[0]
            : z > 0 && z < total ? new SparsityPattern.Unstructured(Math.Floor(1000.0 * z / total) / 1000) : null;
        if (detected is SparsityPattern.Unstructured { Value: 0 }) detected = null;
        return new SparsityReport(layers, detected);
    }

    private static IEnumerable<(string Name, int Layer, Projection Projection, float[] W, int Rows, int Cols)> ReadMatrices(string modelDir)
    {
        if (!Directory.Exists(modelDir)) throw new DirectoryNotFoundException($"model folder '{modelDir}' does not exist");
        var config = LlamaConfig.Load(modelDir);
        var shapes = LlamaModel.ExpectedShapes(config);
        using var reader = HfWeightsReader.Open(modelDir);
        for (int l = 0; l < config.NumHiddenLayers; l++)
            foreach (var p in Projections.All)
            {
                var name = Projections.ParameterName(l, p);
                if (!reader.TryFind(name, out var file, out var entry)) throw new InvalidDataException($"{modelDir}: tensor '{name}' is missing");
                var shape = shapes[name];
                var dtype = entry.DType switch
                {
                    SafeDType.F32 => DType.F32, SafeDType.BF16 => DType.BF16, SafeDType.F16 => DType.F16, SafeDType.F64 => DType.F64,
                    _ => throw new InvalidDataException($"{modelDir}: tensor '{name}' has dtype {entry.DType}, expected a float type"),
                };
                float[] w;
                using (var t = Tensor.FromBytes(file.GetBytes(entry), shape, dtype)) w = t.ToFloatArray();
                yield return (name, l, p, w, shape[0], shape[1]);
            }
    }
}
