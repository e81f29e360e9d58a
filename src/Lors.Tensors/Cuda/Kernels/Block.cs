// Block-wide reductions for kernels that run one block per row: warp shuffles, then one value per warp in
// shared memory summed in a fixed order, so results are deterministic. Every thread of the block must call them.
using ILGPU;

namespace Lors.Tensors.Cuda.Kernels;

internal static class Block
{
    /// <summary>Threads per block for row kernels (a multiple of 32, at most 32 warps).</summary>
    public const int Threads = 256;

    public static float WarpSum(float v)
    {
        for (int o = 16; o > 0; o >>= 1) v += Warp.ShuffleXor(v, o);
        return v;
    }

    public static float WarpMax(float v)
    {
        for (int o = 16; o > 0; o >>= 1) v = Elem.Max(v, Warp.ShuffleXor(v, o));
        return v;
    }

    public static double WarpSumD(double v)
    {
        for (int o = 16; o > 0; o >>= 1) v += Warp.ShuffleXor(v, o);
        return v;
    }

    /// <summary>Sum over the block; sh holds at least 32 floats and is free for reuse on return.</summary>
    public static float Sum(float v, ArrayView<float> sh)
    {
        v = WarpSum(v);
        Group.Barrier();
        if (Warp.LaneIdx == 0) sh[Warp.WarpIdx] = v;
        Group.Barrier();
        float r = 0f;
        int warps = Group.DimX / 32;
        for (int w = 0; w < warps; w++) r += sh[w];
        return r;
    }

    public static float Max(float v, ArrayView<float> sh)
    {
        v = WarpMax(v);
        Group.Barrier();
        if (Warp.LaneIdx == 0) sh[Warp.WarpIdx] = v;
        Group.Barrier();
        float r = float.NegativeInfinity;
        int warps = Group.DimX / 32;
        for (int w = 0; w < warps; w++) r = Elem.Max(r, sh[w]);
        return r;
    }

    /// <summary>Combines with a reduce op code (ReduceOp: Sum, Mean and SumSquares add; Max, Min compare) in double.</summary>
    public static double Combine(int op, double a, double b) =>
        op == (int)ReduceOp.Max ? Elem.MaxD(a, b) : op == (int)ReduceOp.Min ? Elem.MinD(a, b) : a + b;

    public static double Reduce(int op, double v, ArrayView<double> sh)
    {
        for (int o = 16; o > 0; o >>= 1) v = Combine(op, v, Warp.ShuffleXor(v, o));
        Group.Barrier();
        if (Warp.LaneIdx == 0) sh[Warp.WarpIdx] = v;
        Group.Barrier();
        double r = sh[0];
        int warps = Group.DimX / 32;
        for (int w = 1; w < warps; w++) r = Combine(op, r, sh[w]);
        return r;
    }
}
