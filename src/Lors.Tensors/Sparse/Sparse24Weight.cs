// A frozen [O, I] matrix with exactly 2:4 sparsity along I, stored compressed: Values [O, I/2] in the weight's dtype and
// Meta U8 [O, I/8]. 0.5625x the bytes of the dense bf16 matrix (I/2 values of 2 bytes + I/8 bytes per row, over 2 I).
//
// Layout (row-major, one row of W at a time; groups g = 0 .. I/4 - 1 are columns 4g .. 4g+3):
//   Values[o, 2g], Values[o, 2g+1] = W[o, 4g + p0], W[o, 4g + p1] with p0 < p1 the kept positions of group g;
//   Meta[o, q] holds groups 2q (low nibble) and 2q+1 (high nibble); a nibble is p0 | p1 << 2.
// The nibble is the per-group code of the sparse tensor-core instruction mma.sp (two 2-bit indices, lower first), but
// the nibbles are kept in this plain row order, not the per-thread interleave mma.sp reads: a sparse-GEMM kernel would
// reorder them once when it is written. A group with fewer than two non-zeros keeps its non-zero positions plus the
// lowest free positions (their stored value is that zero's bits); decompression writes +0 at every dropped column.
namespace Lors.Tensors;

public sealed class Sparse24Weight : IDisposable
{
    public Sparse24Weight(Tensor values, Tensor meta, string name = "")
    {
        if (values.Rank != 2 || meta.Rank != 2 || meta.DType != DType.U8 || values.Shape[0] != meta.Shape[0] || values.Shape[1] != meta.Shape[1] * 4)
            throw new ArgumentException($"Sparse24Weight '{name}': values {values.DType.Name()} {Tensor.ShapeString(values.Shape)} and meta {meta.DType.Name()} {Tensor.ShapeString(meta.Shape)} must be [O, I/2] and u8 [O, I/8]");
        if (!values.IsContiguous || !meta.IsContiguous) throw new ArgumentException($"Sparse24Weight '{name}': values and meta must be contiguous");
        Values = values;
        Meta = meta;
        Name = name;
    }

    /// <summary>Kept values [O, I/2] in the weight's dtype.</summary>
    public Tensor Values { get; }
    /// <summary>Kept positions U8 [O, I/8], two groups per byte.</summary>
    public Tensor Meta { get; }
    public string Name { get; }
    public int OutFeatures => Values.Shape[0];
    public int InFeatures => Values.Shape[1] * 2;
    public DType DType => Values.DType;
    public Device Device => Values.Device;
    /// <summary>Bytes held on the device (values + metadata).</summary>
    public long ByteCount => Values.ByteCount + Meta.ByteCount;
    /// <summary>Bytes of the same matrix stored dense.</summary>
    public long DenseByteCount => (long)OutFeatures * InFeatures * DType.Size();

    public void Dispose()
    {
        Values.Dispose();
        Meta.Dispose();
    }

    public override string ToString() => $"2:4 {Name} [{OutFeatures}, {InFeatures}] {DType.Name()} ({ByteCount} bytes)";
}
