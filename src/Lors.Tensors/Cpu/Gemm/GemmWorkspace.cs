// Packing buffers for one worker: 64-byte-aligned native memory, pooled so repeated GEMM calls do not
// allocate (and produce no GC garbage). Sized for the largest blocking of any kernel set.
using System.Runtime.InteropServices;

namespace Lors.Tensors.Cpu;

internal sealed unsafe class GemmWorkspace
{
    public readonly float* A;     // packed MC x KC block of op(A)
    public readonly float* B;     // packed KC x NC block of op(B)
    public readonly float* Tile;  // MR x NR scratch tile for partial edge tiles

    private static readonly Stack<GemmWorkspace> Pool = new();

    private GemmWorkspace()
    {
        A = Alloc(GemmKernelSet.MaxPackedA);
        B = Alloc(GemmKernelSet.MaxPackedB);
        Tile = Alloc(GemmKernelSet.MaxTile);
    }

    ~GemmWorkspace()
    {
        NativeMemory.AlignedFree(A);
        NativeMemory.AlignedFree(B);
        NativeMemory.AlignedFree(Tile);
    }

    private static float* Alloc(long floats) => (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);

    public static GemmWorkspace Rent()
    {
        lock (Pool) if (Pool.Count > 0) return Pool.Pop();
        return new GemmWorkspace();
    }

    public static void Return(GemmWorkspace ws)
    {
        // Keep a few per core: enough for every worker plus nested batched calls.
        lock (Pool) if (Pool.Count < 2 * Environment.ProcessorCount + 2) Pool.Push(ws);
    }
}
