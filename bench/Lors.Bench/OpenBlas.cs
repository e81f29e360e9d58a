// Optional OpenBLAS baseline: loads libopenblas.so.0 at run time (no build dependency) and exposes
// cblas_sgemm and openblas_set_num_threads through function pointers.
using System.Runtime.InteropServices;

namespace Lors.Bench;

internal sealed unsafe class OpenBlas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;
    private readonly delegate* unmanaged<int, void> _setThreads;

    private OpenBlas(nint lib)
    {
        _sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)
            NativeLibrary.GetExport(lib, "cblas_sgemm");
        _setThreads = NativeLibrary.TryGetExport(lib, "openblas_set_num_threads", out var f)
            ? (delegate* unmanaged<int, void>)f : null;
    }

    /// <summary>The loaded library, or null when libopenblas.so.0 is not installed.</summary>
    public static OpenBlas? TryLoad()
        => NativeLibrary.TryLoad("libopenblas.so.0", out var lib) || NativeLibrary.TryLoad("libopenblas", out lib)
            ? new OpenBlas(lib) : null;

    public void SetThreads(int n)
    {
        if (_setThreads != null) _setThreads(n);
    }

    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc)
        => _sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
