// Conformance cases of the compressed 2:4 ops: compress/decompress round trips on 2:4 matrices [O, I] with full,
// half-empty and empty groups (and -0), the refusal of a group with three non-zeros, and the LoRS merge on kept
// values (dense and compressed output) against the dense fused merge.
using Lors.Tensors;

namespace Lors.Conformance;

public sealed partial class BackendConformance
{
    private void Sparse24()
    {
        Linear24Cases();
        foreach (var dt in FloatTypes)
            foreach (var (o, i) in new[] { (3, 8), (37, 264), (5, 1024) })
                Case("Compress24", $"{dt.Name()} [{o},{i}] round trip", d =>
                {
                    var w = FromValues(d, Matrix24(o, i, 160), [o, i], dt);
                    var c = Ops.Compress24(w);
                    var back = Ops.Decompress24(c);
                    if (!back.ToFloatArray().SequenceEqual(w.ToFloatArray())) throw new InvalidOperationException("Decompress24(Compress24(w)) != w");
                    return Out(c.Values, c.Meta.To(DType.F32), back);
                }, Tolerance.Exact);
        // The refusal names the first bad group: one planted late in row 2 and one early in row 5 of [7, 64].
        Case("Compress24", "refuses three non-zeros in a group, naming the first", d =>
        {
            var v = Matrix24(7, 64, 161);
            foreach (int at in new[] { 5 * 64 + 8, 2 * 64 + 60 })
                for (int p = 0; p < 3; p++) v[at + p] = 0.5f + p;
            try { Ops.Compress24(FromValues(d, v, [7, 64]), "probe"); }
            catch (InvalidDataException e)
            {
                if (!e.Message.Contains("row 2, columns 60..63") || !e.Message.Contains("3 non-zeros") || !e.Message.Contains("probe"))
                    throw new InvalidOperationException($"refusal does not name row 2, columns 60..63: {e.Message}");
                return [[1f]];
            }
            throw new InvalidOperationException("Compress24 accepted a group with three non-zeros");
        }, Tolerance.Exact);
        Throws<ArgumentException>("Compress24", "I not a multiple of 8", d => Ops.Compress24(In(d, [4, 12], 162)));
        foreach (var dt in FloatTypes)
            foreach (var (o, i, r, adt) in new[] { (37, 264, 16, DType.F32), (6, 48, 1, DType.F32), (40, 272, 16, DType.BF16), (9, 64, 0, DType.F32) })
                Case("MaskedLowRankMerge24", $"{dt.Name()} [{o},{i}], r={r}, {adt.Name()} a/b: dense, compressed, vs the dense merge", d =>
                {
                    var w = FromValues(d, Matrix24(o, i, 163), [o, i], dt);
                    var c = Ops.Compress24(w);
                    Tensor a = In(d, [o, r], 164, adt), b = In(d, [r, i], 165, adt);
                    var dense = Ops.MaskedLowRankMerge24(c, a, b, 0.37f, dense: true);
                    var kept = Ops.MaskedLowRankMerge24(c, a, b, 0.37f, dense: false);
                    var viaDense = Ops.MaskedLowRankMerge(w, a, b, 0.37f);
                    Ops.MaskedLowRankMerge24Into(c, a, b, 0.37f, c.Values); // in place
                    return Out(dense, kept, viaDense, Ops.Decompress24(c), Ops.NonZeroMask(dense).To(DType.F32));
                }, Tolerance.For(dt), Tolerance.For(dt), Tolerance.For(dt), Tolerance.For(dt), Tolerance.Exact);
    }

    private void Linear24Cases()
    {
        foreach (var dt in FloatTypes)
            foreach (var (n, o, i) in new[] { (1, 9, 264), (3, 3, 1024), (8, 12, 48) })
                Case("Linear24", $"{dt.Name()} x [{n},{i}] W [{o},{i}] compressed, vs x Decompress(W)^T", d =>
                {
                    var w = FromValues(d, Matrix24(o, i, 166), [o, i], dt);
                    var x = In(d, [n, i], 167, dt);
                    var c = Ops.Compress24(w);
                    return Out(Ops.Linear24(x, c), Ops.MatMul(x, Ops.Decompress24(c), false, true));
                }, Tolerance.For(dt), Tolerance.For(dt));
    }

    /// <summary>A 2:4 matrix [o, i]: most groups keep two of four (all six patterns), some one, some none, some -0.</summary>
    public static float[] Matrix24(int o, int i, ulong seed)
    {
        var v = Ops.RandomUniform([o * i], seed, -1, 1, DType.F32, Device.Cpu).ToFloatArray();
        var rng = new Random((int)seed);
        (int, int)[] pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];
        for (int g = 0; g < v.Length / 4; g++)
        {
            int kind = rng.Next(10);
            var (p0, p1) = pairs[rng.Next(6)];
            for (int p = 0; p < 4; p++)
            {
                bool keep = kind < 7 ? p == p0 || p == p1 : kind < 9 && p == p1;
                if (!keep) v[4 * g + p] = kind == 9 && p == 0 ? -0f : 0f;
            }
        }
        return v;
    }
}
