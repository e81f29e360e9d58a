// A scope that disposes every tensor created inside it, except those moved out with Keep().
// Scopes nest per thread; tensors made outside any scope are owned by whoever made them.
namespace Lors.Tensors;

public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;

    private readonly TensorScope? _parent;
    private readonly List<Tensor> _owned = new();
    private bool _disposed;

    private TensorScope()
    {
        _parent = _current;
        _current = this;
    }

    public static TensorScope Begin() => new();

    internal static void Track(Tensor t) => _current?._owned.Add(t);

    /// <summary>Moves <paramref name="t"/> to the enclosing scope (or to nobody when there is none), so it survives this one.</summary>
    public Tensor Keep(Tensor t)
    {
        int i = _owned.LastIndexOf(t);
        if (i >= 0) _owned.RemoveAt(i);
        _parent?._owned.Add(t);
        return t;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current != this) throw new InvalidOperationException("TensorScope: scopes must be disposed in reverse order of creation");
        _current = _parent;
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
    }
}
