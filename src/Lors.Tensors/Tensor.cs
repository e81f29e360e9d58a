// Tensor = storage + dtype + shape + strides + offset (strides and offset count elements, not bytes).
// Views share storage; the storage is freed when the last tensor over it is disposed.
namespace Lors.Tensors;

public sealed partial class Tensor : IDisposable
{
    private Storage? _storage;

    internal Tensor(Storage storage, DType dtype, int[] shape, long[] strides, long offset, bool addRef)
    {
        if (addRef) storage.AddRef();
        _storage = storage;
        DType = dtype;
        Shape = shape;
        Strides = strides;
        Offset = offset;
        TensorScope.Track(this);
    }

    public DType DType { get; }
    public int[] Shape { get; }
    public long[] Strides { get; }
    public long Offset { get; }

    public Storage Storage => _storage ?? throw new ObjectDisposedException(nameof(Tensor), $"tensor {ShapeString(Shape)} {DType.Name()} was disposed");
    public IBackend Backend => Storage.Backend;
    public Device Device => Storage.Backend.Device;
    public bool IsDisposed => _storage is null;

    public int Rank => Shape.Length;
    public long Numel => NumelOf(Shape);
    public long ByteCount => Numel * DType.Size();
    public int Size(int dim) => Shape[NormalizeDim(dim, Rank, "Size")];

    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (int i = Rank - 1; i >= 0; i--)
            {
                if (Shape[i] != 1 && Strides[i] != expected) return false;
                expected *= Shape[i];
            }
            return true;
        }
    }

    public void Dispose()
    {
        var s = Interlocked.Exchange(ref _storage, null);
        s?.Release();
    }

    // ---- creation ------------------------------------------------------------------------------------

    public static Tensor Empty(int[] shape, DType dtype = DType.F32, Device? device = null)
    {
        CheckShape(shape, "Empty");
        var backend = Backends.Get(device ?? Device.Cpu);
        long bytes = NumelOf(shape) * dtype.Size();
        return new Tensor(backend.Allocate(bytes), dtype, (int[])shape.Clone(), ContiguousStrides(shape), 0, addRef: false);
    }

    public static Tensor Zeros(int[] shape, DType dtype = DType.F32, Device? device = null) => Full(shape, 0, dtype, device);

    public static Tensor Full(int[] shape, double value, DType dtype = DType.F32, Device? device = null)
    {
        var t = Empty(shape, dtype, device);
        t.Backend.Fill(t, value);
        return t;
    }

    public Tensor EmptyLike(DType? dtype = null) => Empty(Shape, dtype ?? DType, Device);
    public Tensor ZerosLike(DType? dtype = null) => Zeros(Shape, dtype ?? DType, Device);

    // ---- helpers -------------------------------------------------------------------------------------

    public static long NumelOf(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    public static long[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var s = new long[shape.Length];
        long acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    public static string ShapeString(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public override string ToString() => $"Tensor{ShapeString(Shape)} {DType.Name()} on {(IsDisposed ? "(disposed)" : Device.ToString())}";

    internal static int NormalizeDim(int dim, int rank, string op)
    {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) throw new ArgumentOutOfRangeException(nameof(dim), $"{op}: dim {dim} is out of range for rank {rank}");
        return d;
    }

    internal static void CheckShape(int[] shape, string op)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (var d in shape)
            if (d < 0) throw new ArgumentException($"{op}: negative dimension in shape {ShapeString(shape)}");
    }
}
