// Whether operations record the graph. NoGrad() turns recording off for the current thread inside a using block.
namespace Lors.Autograd;

public static class GradMode
{
    [ThreadStatic] private static int _disabled;

    public static bool IsEnabled => _disabled == 0;

    public static IDisposable NoGrad() => new Toggle(disable: true);

    /// <summary>Turns recording back on inside a NoGrad region (used by checkpoint recompute).</summary>
    public static IDisposable EnableGrad() => new Toggle(disable: false);

    private sealed class Toggle : IDisposable
    {
        private readonly int _saved;
        private bool _done;

        public Toggle(bool disable)
        {
            _saved = _disabled;
            _disabled = disable ? _disabled + 1 : 0;
        }

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _disabled = _saved;
        }
    }
}
