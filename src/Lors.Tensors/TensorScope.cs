// A scope that disposes every tensor created inside it, except those moved out with Keep().
// Scopes nest per thread; tensors made outside any scope are owned by whoever made them.
namespace Lors.Tensors;

public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;

    private readonly TensorScope? _parent;
    private readonly List<Tensor> _owned = new();
    private readonly bool _detached;
    private bool _disposed;

    private TensorScope(bool detached)
    {
        _parent = _current;
        _detached = detached;
        _current = this;
    }

    public static TensorScope Begin() => new(detached: false);

    /// <summary>
    /// A region whose tensors belong to no scope (the caller owns them): for long-lived state such as gradients
    /// of parameters or optimizer moments created in the middle of a scoped computation.
    /// </summary>
    public static TensorScope Detached() => new(detached: true);

    internal static void Track(Tensor t)
    {
        var s = _current;
        if (s is not null && !s._detached) s._owned.Add(t);
    }

    /// <summary>Moves <paramref name="t"/> to the enclosing scope (or to nobody when there is none), so it survives this one.</summary>
    public Tensor Keep(Tensor t)
    {
        int i = _owned.LastIndexOf(t);
        if (i >= 0) _owned.RemoveAt(i);
        if (_parent is { _detached: false }) _parent._owned.Add(t);
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
