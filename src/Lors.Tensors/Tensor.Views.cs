// Views: reshape, transpose/permute, narrow, expand, (un)squeeze. None copies; Contiguous() copies when needed.
namespace Lors.Tensors;

public sealed partial class Tensor
{
    private Tensor MakeView(int[] shape, long[] strides, long offset) => new(Storage, DType, shape, strides, offset, addRef: true);

    /// <summary>A view with a new shape (one dim may be -1). Needs a contiguous tensor; use Contiguous() first otherwise.</summary>
    public Tensor Reshape(params int[] shape)
    {
        var resolved = ResolveShape(shape, Numel, "Reshape", Shape);
        if (!IsContiguous) throw new InvalidOperationException($"Reshape: tensor {ShapeString(Shape)} is not contiguous; call Contiguous() first");
        return MakeView(resolved, ContiguousStrides(resolved), Offset);
    }

    /// <summary>Reshape that copies when the tensor is not contiguous. The result is always a new tensor to dispose.</summary>
    public Tensor ReshapeOrCopy(params int[] shape)
    {
        if (IsContiguous) return Reshape(shape);
        using var c = Contiguous();
        return c.Reshape(shape);
    }

    public Tensor Transpose(int dim0, int dim1)
    {
        int a = NormalizeDim(dim0, Rank, "Transpose"), b = NormalizeDim(dim1, Rank, "Transpose");
        var shape = (int[])Shape.Clone();
        var strides = (long[])Strides.Clone();
        (shape[a], shape[b]) = (shape[b], shape[a]);
        (strides[a], strides[b]) = (strides[b], strides[a]);
        return MakeView(shape, strides, Offset);
    }

    /// <summary>The 2-D transpose.</summary>
    public Tensor T()
    {
        if (Rank != 2) throw new InvalidOperationException($"T: needs a 2-D tensor, got {ShapeString(Shape)}");
        return Transpose(0, 1);
    }

    public Tensor Permute(params int[] dims)
    {
        if (dims.Length != Rank) throw new ArgumentException($"Permute: {dims.Length} dims given for rank {Rank} tensor {ShapeString(Shape)}");
        var seen = new bool[Rank];
        var shape = new int[Rank];
        var strides = new long[Rank];
        for (int i = 0; i < Rank; i++)
        {
            int d = NormalizeDim(dims[i], Rank, "Permute");
            if (seen[d]) throw new ArgumentException($"Permute: dim {d} repeated in [{string.Join(", ", dims)}]");
            seen[d] = true;
            shape[i] = Shape[d];
            strides[i] = Strides[d];
        }
        return MakeView(shape, strides, Offset);
    }

    /// <summary>Elements [start, start+length) along dim.</summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        int d = NormalizeDim(dim, Rank, "Narrow");
        if (start < 0 || length < 0 || start + length > Shape[d])
            throw new ArgumentOutOfRangeException(nameof(start), $"Narrow: [{start}, {start + length}) is outside dim {d} of size {Shape[d]} in {ShapeString(Shape)}");
        var shape = (int[])Shape.Clone();
        shape[d] = length;
        return MakeView(shape, (long[])Strides.Clone(), Offset + start * Strides[d]);
    }

    /// <summary>Index one position of dim, dropping that dim.</summary>
    public Tensor Select(int dim, int index)
    {
        int d = NormalizeDim(dim, Rank, "Select");
        if (index < 0 || index >= Shape[d])
            throw new ArgumentOutOfRangeException(nameof(index), $"Select: index {index} is outside dim {d} of size {Shape[d]} in {ShapeString(Shape)}");
        var shape = Shape.Where((_, i) => i != d).ToArray();
        var strides = Strides.Where((_, i) => i != d).ToArray();
        return MakeView(shape, strides, Offset + index * Strides[d]);
    }

    /// <summary>Broadcast to a larger shape (stride 0 along expanded dims); leading dims may be added.</summary>
    public Tensor Expand(params int[] shape)
    {
        if (shape.Length < Rank) throw new ArgumentException($"Expand: cannot expand {ShapeString(Shape)} to fewer dims {ShapeString(shape)}");
        var strides = new long[shape.Length];
        int lead = shape.Length - Rank;
        for (int i = 0; i < shape.Length; i++)
        {
            if (i < lead) { strides[i] = 0; continue; }
            int src = Shape[i - lead];
            if (src == shape[i]) strides[i] = Strides[i - lead];
            else if (src == 1) strides[i] = 0;
            else throw new ArgumentException($"Expand: cannot expand {ShapeString(Shape)} to {ShapeString(shape)}");
        }
        return MakeView((int[])shape.Clone(), strides, Offset);
    }

    public Tensor Unsqueeze(int dim)
    {
        int d = dim < 0 ? dim + Rank + 1 : dim;
        if (d < 0 || d > Rank) throw new ArgumentOutOfRangeException(nameof(dim), $"Unsqueeze: dim {dim} out of range for rank {Rank}");
        var shape = Shape.ToList();
        var strides = Strides.ToList();
        shape.Insert(d, 1);
        strides.Insert(d, d < Rank ? Strides[d] * Shape[d] : 1);
        return MakeView(shape.ToArray(), strides.ToArray(), Offset);
    }

    public Tensor Squeeze(int dim)
    {
        int d = NormalizeDim(dim, Rank, "Squeeze");
        if (Shape[d] != 1) throw new ArgumentException($"Squeeze: dim {d} of {ShapeString(Shape)} is not 1");
        return Select(d, 0);
    }

    /// <summary>A new view of the same elements (the caller disposes both independently).</summary>
    public Tensor View() => MakeView((int[])Shape.Clone(), (long[])Strides.Clone(), Offset);

    /// <summary>This tensor's elements in a new contiguous tensor (always a copy, so ownership is simple).</summary>
    public Tensor Contiguous()
    {
        var dst = Empty(Shape, DType, Device);
        Backend.Copy(this, dst);
        return dst;
    }

    /// <summary>A contiguous copy converted to another dtype.</summary>
    public Tensor To(DType dtype)
    {
        var dst = Empty(Shape, dtype, Device);
        Backend.Copy(this, dst);
        return dst;
    }

    /// <summary>A contiguous copy on another device (with optional dtype conversion).</summary>
    public Tensor To(Device device, DType? dtype = null)
    {
        var dt = dtype ?? DType;
        if (device == Device) return To(dt);
        // Cross-device: go through host memory in this tensor's dtype, then convert on the target.
        using var contiguous = Contiguous();
        var bytes = new byte[contiguous.ByteCount];
        contiguous.Backend.CopyToHost(contiguous.Storage, contiguous.Offset * DType.Size(), bytes);
        using var moved = Empty(Shape, DType, device);
        moved.Backend.CopyFromHost(bytes, moved.Storage, 0);
        return moved.To(dt);
    }

    internal static int[] ResolveShape(int[] shape, long numel, string op, int[] from)
    {
        int infer = -1;
        long known = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"{op}: more than one -1 in {ShapeString(shape)}");
                infer = i;
            }
            else if (shape[i] < 0) throw new ArgumentException($"{op}: negative dimension in {ShapeString(shape)}");
            else known *= shape[i];
        }
        var r = (int[])shape.Clone();
        if (infer >= 0)
        {
            if (known == 0 || numel % known != 0) throw new ArgumentException($"{op}: cannot reshape {ShapeString(from)} to {ShapeString(shape)}");
            r[infer] = (int)(numel / known);
        }
        if (NumelOf(r) != numel) throw new ArgumentException($"{op}: cannot reshape {ShapeString(from)} ({numel} elements) to {ShapeString(shape)}");
        return r;
    }
}
