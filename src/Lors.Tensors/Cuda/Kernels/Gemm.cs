// The fallback matrix product when cuBLAS cannot be loaded: 16x16 shared-memory tiles, fp32 accumulation, any float
// dtypes for A, B and C, either operand transposed, batched over Grid.IdxZ (stride 0 broadcasts an operand).
using ILGPU;

namespace Lors.Tensors.Cuda.Kernels;

internal struct GemmArgs
{
    public int M, N, K, TransA, TransB, Lda, Ldb, TA, TB, TC;
    public long StrideA, StrideB, StrideC;
    public float Alpha, Beta;
}

internal static class GemmKernels
{
    public const int Tile = 16;

    /// <summary>c[z] = alpha op(a[z]) op(b[z]) + beta c[z] for a row-major [M,N] tile per block (Grid X: N tiles, Y: M tiles).</summary>
    public static void Tiled(ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> c, GemmArgs g)
    {
        var sa = SharedMemory.Allocate<float>(Tile * Tile);
        var sb = SharedMemory.Allocate<float>(Tile * Tile);
        int tx = Group.IdxX, ty = Group.IdxY;
        int col = Grid.IdxX * Tile + tx, row = Grid.IdxY * Tile + ty;
        long z = Grid.IdxZ;
        long ao = z * g.StrideA, bo = z * g.StrideB, co = z * g.StrideC;
        float acc = 0f;
        for (int k0 = 0; k0 < g.K; k0 += Tile)
        {
            int ka = k0 + tx, kb = k0 + ty;
            float va = 0f, vb = 0f;
            if (row < g.M && ka < g.K)
                va = Elem.Ld(a, g.TA, ao + (g.TransA != 0 ? (long)ka * g.Lda + row : (long)row * g.Lda + ka));
            if (col < g.N && kb < g.K)
                vb = Elem.Ld(b, g.TB, bo + (g.TransB != 0 ? (long)col * g.Ldb + kb : (long)kb * g.Ldb + col));
            sa[ty * Tile + tx] = va;
            sb[ty * Tile + tx] = vb;
            Group.Barrier();
            for (int kk = 0; kk < Tile; kk++) acc += sa[ty * Tile + kk] * sb[kk * Tile + tx];
            Group.Barrier();
        }
        if (row < g.M && col < g.N)
        {
            long ci = co + (long)row * g.N + col;
            float r = g.Alpha * acc;
            if (g.Beta != 0f) r += g.Beta * Elem.Ld(c, g.TC, ci);
            Elem.St(c, g.TC, ci, r);
        }
    }
}
