// Compressed 2:4 weights (layout in Sparse/Sparse24Weight.cs): compress a dense [O, I] matrix, decompress it, and the
// LoRS merge on the kept values, written compressed [O, I/2] or dense [O, I].
namespace Lors.Tensors;

public static partial class Ops
{
    /// <summary>
    /// Compresses w [O, I] (I % 8 == 0, float) into kept values + metadata. A group of four with more than two non-zeros
    /// is refused, naming the tensor, the first such group (row, columns) and its non-zero count.
    /// </summary>
    public static Sparse24Weight Compress24(Tensor w, string name = "w")
    {
        const string op = "Compress24";
        CheckRank(op, w, 2, name);
        CheckFloat(op, w, name);
        int o = w.Shape[0], n = w.Shape[1];
        if (n % 8 != 0) throw new ArgumentException($"{op}: {name} {Tensor.ShapeString(w.Shape)}: the input dimension must be a multiple of 8 for the 2:4 layout");
        var be = w.Backend;
        using var dw = D(w);
        var values = Tensor.Empty([o, n / 2], w.DType, w.Device);
        var meta = Tensor.Empty([o, n / 8], DType.U8, w.Device);
        using var bad = Tensor.FromArray([int.MaxValue], [1], w.Device);
        try
        {
            if (o > 0 && n > 0) be.Compress24(dw, values, meta, bad);
            int g = bad.ToIntArray()[0];
            if (g != int.MaxValue)
            {
                int row = g / (n / 4), c = g % (n / 4) * 4;
                var vals = w.Narrow(0, row, 1).Narrow(1, c, 4).ToFloatArray();
                throw new InvalidDataException($"{op}: {name} {Tensor.ShapeString(w.Shape)} is not 2:4: row {row}, columns {c}..{c + 3} " +
                    $"hold {vals.Count(v => v != 0)} non-zeros ({string.Join(", ", vals.Select(v => v.ToString("G4")))})");
            }
        }
        catch
        {
            values.Dispose();
            meta.Dispose();
            throw;
        }
        return new Sparse24Weight(values, meta, name);
    }

    /// <summary>The dense [O, I] matrix of a compressed weight (+0 at the dropped columns).</summary>
    public static Tensor Decompress24(Sparse24Weight w)
    {
        var y = Tensor.Empty([w.OutFeatures, w.InFeatures], w.DType, w.Device);
        Decompress24Into(w, y);
        return y;
    }

    public static void Decompress24Into(Sparse24Weight w, Tensor y)
    {
        const string op = "Decompress24";
        CheckOutput24(op, w, y, dense: true);
        if (y.Numel > 0) SameBackend(op, w.Values, w.Meta, y).Decompress24(w.Values, w.Meta, y);
    }

    /// <summary>
    /// W' of the LoRS merge from the compressed W: dense [O, I] (dense = true) or the new kept values [O, I/2] in W's dtype.
    /// Bit-identical to MaskedLowRankMerge(Decompress24(w), a, b, s) on the same backend, up to the dropped columns' sign of zero.
    /// </summary>
    public static Tensor MaskedLowRankMerge24(Sparse24Weight w, Tensor a, Tensor b, float s, bool dense)
    {
        var y = Tensor.Empty(dense ? [w.OutFeatures, w.InFeatures] : [w.OutFeatures, w.InFeatures / 2], w.DType, w.Device);
        try { MaskedLowRankMerge24Into(w, a, b, s, y); }
        catch { y.Dispose(); throw; }
        return y;
    }

    /// <summary>Writes W' into y: [O, I] dense or [O, I/2] kept values (y may be w.Values itself: an in-place merge).</summary>
    public static void MaskedLowRankMerge24Into(Sparse24Weight w, Tensor a, Tensor b, float s, Tensor y)
    {
        const string op = "MaskedLowRankMerge24";
        bool dense = y.Rank == 2 && y.Shape[1] == w.InFeatures && w.InFeatures > 0;
        CheckOutput24(op, w, y, dense);
        CheckRank(op, a, 2, "a");
        CheckRank(op, b, 2, "b");
        CheckFloat(op, a, "a");
        CheckFloat(op, b, "b");
        if (a.Shape[0] != w.OutFeatures || b.Shape[1] != w.InFeatures || a.Shape[1] != b.Shape[0])
            throw new ArgumentException($"{op}: {w.Name} [{w.OutFeatures}, {w.InFeatures}], a {Tensor.ShapeString(a.Shape)} and b {Tensor.ShapeString(b.Shape)} must be [O,I], [O,r] and [r,I]");
        var be = SameBackend(op, w.Values, a, b, y);
        var want = w.DType == DType.F64 ? DType.F64 : DType.F32;
        bool Keep(Tensor t) => t.DType == want || (want == DType.F32 && t.DType == DType.BF16);
        using var ca = Keep(a) ? null : a.To(want);
        using var cb = Keep(b) ? null : b.To(want);
        using var da = D(ca ?? a);
        using var db = D(cb ?? b);
        if (y.Numel > 0) be.MaskedLowRankMerge24(w.Values, w.Meta, da, db, s, y);
    }

    /// <summary>
    /// y [N, O] = x [N, I] W^T read straight from the compressed W (no dense scratch); for small N (decoding), where
    /// reading the weight dominates. y is F32 on the CPU and x's dtype on a GPU, as MatMul's default.
    /// </summary>
    public static Tensor Linear24(Tensor x, Sparse24Weight w)
    {
        const string op = "Linear24";
        CheckRank(op, x, 2, "x");
        CheckFloat(op, x, "x");
        if (x.Shape[1] != w.InFeatures)
            throw new ArgumentException($"{op}: x {Tensor.ShapeString(x.Shape)} does not match {w.Name} [{w.OutFeatures}, {w.InFeatures}]");
        var be = SameBackend(op, x, w.Values);
        var dt = x.Device.IsCpu ? (x.DType == DType.F64 ? DType.F64 : DType.F32) : x.DType;
        using var dx = D(x);
        var y = Tensor.Empty([x.Shape[0], w.OutFeatures], dt, x.Device);
        if (y.Numel > 0) be.Linear24(dx, w.Values, w.Meta, y);
        return y;
    }

    private static void CheckOutput24(string op, Sparse24Weight w, Tensor y, bool dense)
    {
        int cols = dense ? w.InFeatures : w.InFeatures / 2;
        if (y.Rank != 2 || y.Shape[0] != w.OutFeatures || y.Shape[1] != cols || y.DType != w.DType || !y.IsContiguous)
            throw new ArgumentException($"{op}: output {y.DType.Name()} {Tensor.ShapeString(y.Shape)} must be a contiguous {w.DType.Name()} [{w.OutFeatures}, {cols}] for {w.Name} [{w.OutFeatures}, {w.InFeatures}]");
    }
}
