// Automatic lifetimes of intermediate variables. A GraphScope bounds how long user code holds the variables made
// inside it: when it ends, each one not kept (returned) is dropped, and its data is freed at once unless a pending
// backward reads it (Function.BackwardReadsInput/Output), in which case that backward frees it when it has run.
// Model code wraps each block (attention, MLP, a rotated projection) in GraphScope.Run instead of freeing by hand.
namespace Lors.Autograd;

public sealed class GraphScope : IDisposable
{
    [ThreadStatic] private static GraphScope? _current;

    private readonly GraphScope? _parent;
    private readonly List<Variable> _made = new();
    private bool _disposed;

    private GraphScope()
    {
        _parent = _current;
        _current = this;
    }

    public static GraphScope Begin() => new();

    /// <summary>Runs body in a scope and keeps its result; every other variable the body made is dropped.</summary>
    public static Variable Run(Func<Variable> body)
    {
        using var scope = Begin();
        return scope.Keep(body());
    }

    internal static void Track(Variable v) => _current?._made.Add(v);

    /// <summary>Moves a variable made here to the enclosing scope (or to nobody), so it outlives this one.</summary>
    public Variable Keep(Variable v)
    {
        int i = _made.LastIndexOf(v);
        if (i >= 0)
        {
            _made.RemoveAt(i);
            _parent?._made.Add(v);
        }
        return v;
    }

    /// <summary>Stops tracking v without dropping it (its data now belongs to someone else, e.g. a checkpoint's output).</summary>
    internal void Forget(Variable v)
    {
        int i = _made.LastIndexOf(v);
        if (i >= 0) _made.RemoveAt(i);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current != this) throw new InvalidOperationException("GraphScope: scopes must be disposed in reverse order of creation");
        _current = _parent;
        foreach (var v in _made) v.Drop();
        _made.Clear();
    }
}
