// Fork-join over dedicated worker threads for the GEMM. The shared thread pool sometimes starts the second
// part late (then the caller runs both), which made 2-thread timings swing by 2x; parked threads woken by a
// semaphore start within microseconds. One parallel region at a time; a concurrent or nested call runs serially.
namespace Lors.Tensors.Cpu;

internal static class GemmThreads
{
    private static readonly object Gate = new();
    private static readonly CountdownEvent Done = new(0);
    private static readonly List<Worker> Workers = [];

    /// <summary>Runs body(0..parts-1), part 0 on the calling thread, the rest on workers; rethrows the first failure.</summary>
    public static void Run(int parts, Action<int> body)
    {
        if (parts <= 1 || !Monitor.TryEnter(Gate))
        {
            for (int p = 0; p < parts; p++) body(p);
            return;
        }
        try
        {
            while (Workers.Count < parts - 1) Workers.Add(new Worker());
            Done.Reset(parts - 1);
            for (int p = 1; p < parts; p++) Workers[p - 1].Start(body, p);
            Exception? error = null;
            try { body(0); }
            catch (Exception e) { error = e; }
            Done.Wait();
            for (int p = 1; p < parts; p++) error ??= Workers[p - 1].TakeError();
            if (error != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
        finally { Monitor.Exit(Gate); }
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _go = new(0);
        private Action<int>? _body;
        private int _part;
        private Exception? _error;

        public Worker()
        {
            new Thread(Loop) { IsBackground = true, Name = "Lors.Gemm worker" }.Start();
        }

        public void Start(Action<int> body, int part)
        {
            _body = body;
            _part = part;
            _go.Release();
        }

        public Exception? TakeError()
        {
            var e = _error;
            _error = null;
            return e;
        }

        private void Loop()
        {
            while (true)
            {
                _go.Wait();
                try { _body!(_part); }
                catch (Exception e) { _error = e; }
                finally
                {
                    _body = null;
                    Done.Signal();
                }
            }
        }
    }
}
