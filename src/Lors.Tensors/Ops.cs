// The public op API: checks shapes and dtypes (naming the op and shapes in errors), allocates outputs,
// makes inputs contiguous where kernels need it, and dispatches to the tensors' backend.
namespace Lors.Tensors;

public static partial class Ops
{
    internal static IBackend SameBackend(string op, params Tensor[] ts)
    {
        var b = ts[0].Backend;
        foreach (var t in ts)
            if (t.Backend != b) throw new ArgumentException($"{op}: tensors are on different devices ({ts[0].Device} and {t.Device})");
        return b;
    }

    internal static void CheckFloat(string op, Tensor t, string name)
    {
        if (!t.DType.IsFloat()) throw new ArgumentException($"{op}: {name} must be a float tensor, got {t.DType.Name()} {Tensor.ShapeString(t.Shape)}");
    }

    internal static void CheckSameShape(string op, Tensor a, Tensor b, string an = "a", string bn = "b")
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape))
            throw new ArgumentException($"{op}: {an} {Tensor.ShapeString(a.Shape)} and {bn} {Tensor.ShapeString(b.Shape)} must have the same shape");
    }

    internal static void CheckRank(string op, Tensor t, int rank, string name)
    {
        if (t.Rank != rank) throw new ArgumentException($"{op}: {name} must be {rank}-D, got {Tensor.ShapeString(t.Shape)}");
    }

    /// <summary>The tensor itself when contiguous (owned=false) or a contiguous copy to dispose (owned=true).</summary>
    internal readonly struct Dense : IDisposable
    {
        public readonly Tensor T;
        private readonly bool _owned;
        public Dense(Tensor t) { _owned = !t.IsContiguous; T = _owned ? t.Contiguous() : t; }
        public void Dispose() { if (_owned) T.Dispose(); }
        public static implicit operator Tensor(Dense d) => d.T;
    }

    internal static Dense D(Tensor t) => new(t);

    /// <summary>Statistics dtype: F64 for F64 inputs, else F32.</summary>
    internal static DType StatType(Tensor t) => t.DType == DType.F64 ? DType.F64 : DType.F32;

    public static int[] BroadcastShape(string op, int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var s = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            int db = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Tensor.ShapeString(a)} and {Tensor.ShapeString(b)} do not broadcast");
            s[i] = da == 1 ? db : da;
        }
        return s;
    }
}
