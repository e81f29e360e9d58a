// Strided views for kernels: a shape of rank <= 6 (innermost dim first) with two stride sets, so one struct
// describes a copy source or both operands of a broadcast binary op. Built on the host with dims merged.
using ILGPU;

namespace Lors.Tensors.Cuda.Kernels;

internal struct Layout
{
    public int Rank;
    // Sizes, innermost first (N0 is the last dim of the tensor).
    public int N0, N1, N2, N3, N4, N5;
    // Element strides of operand A and B for those dims; OffA/OffB are the views' element offsets.
    public long A0, A1, A2, A3, A4, A5, OffA;
    public long B0, B1, B2, B3, B4, B5, OffB;
    // Dtype codes of A, B and the output (kernels that need fewer ignore the rest).
    public int TA, TB, TY;
    /// <summary>Element size in bytes, for copies that move raw bits.</summary>
    public int ES;

    /// <summary>Element offsets of linear index i in A and B.</summary>
    public void Offsets(int i, out long a, out long b)
    {
        a = OffA; b = OffB;
        int q = i;
        if (Rank <= 1) { a += q * A0; b += q * B0; return; }
        int r = q % N0; q /= N0; a += r * A0; b += r * B0;
        if (Rank == 2) { a += q * A1; b += q * B1; return; }
        r = q % N1; q /= N1; a += r * A1; b += r * B1;
        if (Rank == 3) { a += q * A2; b += q * B2; return; }
        r = q % N2; q /= N2; a += r * A2; b += r * B2;
        if (Rank == 4) { a += q * A3; b += q * B3; return; }
        r = q % N3; q /= N3; a += r * A3; b += r * B3;
        if (Rank == 5) { a += q * A4; b += q * B4; return; }
        r = q % N4; q /= N4; a += r * A4; b += r * B4;
        a += q * A5; b += q * B5;
    }

    /// <summary>
    /// Merges dims that are contiguous with respect to each other in every operand and drops size-1 dims,
    /// so a contiguous tensor becomes rank 1 (no divisions in the kernel). b may be null (copy).
    /// </summary>
    public static Layout Make(string op, int[] shape, long[] sa, long offA, long[]? sb, long offB)
    {
        var n = new List<int>();
        var a = new List<long>();
        var b = new List<long>();
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] == 1) continue;
            long bs = sb is null ? 0 : sb[d];
            int k = n.Count - 1;
            if (k >= 0 && sa[d] == a[k] * n[k] && (sb is null || bs == b[k] * n[k])) { n[k] *= shape[d]; continue; }
            n.Add(shape[d]); a.Add(sa[d]); b.Add(bs);
        }
        if (n.Count == 0) { n.Add(1); a.Add(0); b.Add(0); }
        if (n.Count > 6)
            throw new NotSupportedException($"{op}: strided views with more than 6 non-mergeable dims are not supported on CUDA (shape {Tensor.ShapeString(shape)})");
        int rank = n.Count;
        while (n.Count < 6) { n.Add(1); a.Add(0); b.Add(0); }
        return new Layout
        {
            Rank = rank,
            N0 = n[0], N1 = n[1], N2 = n[2], N3 = n[3], N4 = n[4], N5 = n[5],
            A0 = a[0], A1 = a[1], A2 = a[2], A3 = a[3], A4 = a[4], A5 = a[5], OffA = offA,
            B0 = b[0], B1 = b[1], B2 = b[2], B3 = b[3], B4 = b[4], B5 = b[5], OffB = offB,
        };
    }
}
