// A small binding of cuBLAS (handle, stream, GemmEx, GemmStridedBatchedEx), resolved at run time with NativeLibrary:
// the GPU machine has libcublas.so.13 while ILGPU.Algorithms' wrapper looks for .12, so we bind the few calls ourselves.
// Row-major products map to column-major cuBLAS as C^T = op(B)^T op(A)^T (operands swapped, M and N swapped).
using System.Runtime.InteropServices;

namespace Lors.Tensors.Cuda;

internal sealed unsafe class CuBlas : IDisposable
{
    // cudaDataType_t and cublasComputeType_t values from the CUDA headers.
    public const int R32F = 0, R16F = 2, R16BF = 14;
    private const int Compute32F = 68;
    private const int OpN = 0, OpT = 1;
    private const int GemmDefault = -1;

    private static readonly string[] Names =
    [
        "libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so",
        "cublas64_13.dll", "cublas64_12.dll", "cublas64_11.dll",
    ];

    private readonly delegate* unmanaged<IntPtr, int> _destroy;
    private readonly delegate* unmanaged<IntPtr, int, int, int, int, int, void*, void*, int, int, void*, int, int, void*, void*, int, int, int, int, int> _gemmEx;
    private readonly delegate* unmanaged<IntPtr, int, int, int, int, int, void*, void*, int, int, long, void*, int, int, long, void*, void*, int, int, long, int, int, int, int> _gemmBatched;
    private IntPtr _handle;

    public string LibraryName { get; }

    private CuBlas(IntPtr lib, string name, IntPtr handle)
    {
        LibraryName = name;
        _handle = handle;
        _destroy = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "cublasDestroy_v2");
        _gemmEx = (delegate* unmanaged<IntPtr, int, int, int, int, int, void*, void*, int, int, void*, int, int, void*, void*, int, int, int, int, int>)NativeLibrary.GetExport(lib, "cublasGemmEx");
        _gemmBatched = (delegate* unmanaged<IntPtr, int, int, int, int, int, void*, void*, int, int, long, void*, int, int, long, void*, void*, int, int, long, int, int, int, int>)NativeLibrary.GetExport(lib, "cublasGemmStridedBatchedEx");
    }

    /// <summary>Loads cuBLAS and creates a handle bound to the stream; null (with the reason) when that is not possible.</summary>
    public static CuBlas? TryCreate(IntPtr stream, out string why)
    {
        if (Environment.GetEnvironmentVariable("LORS_NO_CUBLAS") == "1") { why = "disabled by LORS_NO_CUBLAS=1"; return null; }
        foreach (var name in Names)
        {
            if (!NativeLibrary.TryLoad(name, out var lib)) continue;
            try
            {
                var create = (delegate* unmanaged<IntPtr*, int>)NativeLibrary.GetExport(lib, "cublasCreate_v2");
                var setStream = (delegate* unmanaged<IntPtr, IntPtr, int>)NativeLibrary.GetExport(lib, "cublasSetStream_v2");
                IntPtr h;
                int st = create(&h);
                if (st != 0) { why = $"{name}: cublasCreate_v2 returned {st}"; return null; }
                st = setStream(h, stream);
                var blas = new CuBlas(lib, name, h);
                if (st != 0) { blas.Dispose(); why = $"{name}: cublasSetStream_v2 returned {st}"; return null; }
                why = "";
                return blas;
            }
            catch (EntryPointNotFoundException e) { why = $"{name}: {e.Message}"; return null; }
        }
        why = "no cuBLAS library found (tried " + string.Join(", ", Names) + ")";
        return null;
    }

    /// <summary>
    /// Row-major c[z] = alpha op(a[z]) op(b[z]) + beta c[z] for z in [0, batch); a stride of 0 broadcasts an operand.
    /// lda/ldb are the row lengths of a and b as stored; types are cudaDataType_t values; compute is exact fp32.
    /// </summary>
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        IntPtr a, int aType, int lda, long strideA, IntPtr b, int bType, int ldb, long strideB,
        float beta, IntPtr c, int cType, long strideC, int batch)
    {
        int opA = transA ? OpT : OpN, opB = transB ? OpT : OpN;
        int st = batch <= 1
            ? _gemmEx(_handle, opB, opA, n, m, k, &alpha, (void*)b, bType, ldb, (void*)a, aType, lda, &beta, (void*)c, cType, n, Compute32F, GemmDefault)
            : _gemmBatched(_handle, opB, opA, n, m, k, &alpha, (void*)b, bType, ldb, strideB, (void*)a, aType, lda, strideA, &beta, (void*)c, cType, n, strideC, batch, Compute32F, GemmDefault);
        if (st != 0)
            throw new InvalidOperationException($"MatMul: cuBLAS GEMM returned status {st} ({StatusName(st)}) for M={m} N={n} K={k} batch={batch} types a={aType} b={bType} c={cType}");
    }

    private static string StatusName(int st) => st switch
    {
        1 => "NOT_INITIALIZED", 3 => "ALLOC_FAILED", 7 => "INVALID_VALUE", 8 => "ARCH_MISMATCH", 11 => "MAPPING_ERROR",
        13 => "EXECUTION_FAILED", 14 => "INTERNAL_ERROR", 15 => "NOT_SUPPORTED", 16 => "LICENSE_ERROR", _ => "unknown",
    };

    public void Dispose()
    {
        if (_handle != IntPtr.Zero) { _destroy(_handle); _handle = IntPtr.Zero; }
    }
}
