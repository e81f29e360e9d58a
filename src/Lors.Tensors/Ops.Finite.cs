// Whether every element of a float tensor is finite, decided by a reduction on the tensor's own device (on CUDA
// nothing but one scalar crosses to the host). Used to refuse NaN/Inf weights when a model or adapter is loaded.
namespace Lors.Tensors;

public static partial class Ops
{
    /// <summary>True when no element of x is NaN or +-Inf. 0 * x is 0 for every finite x and NaN for NaN or
    /// +-Inf, so the (fp32-accumulated) sum of 0 * x is NaN exactly when some element is not finite; a plain sum
    /// could overflow on large finite values and a max could skip NaN, so neither is used.</summary>
    public static bool AllFinite(Tensor x)
    {
        CheckFloat("AllFinite", x, "x");
        if (x.Numel == 0) return true;
        using var zeroed = Scale(x, 0);
        if (zeroed.Numel <= int.MaxValue)
        {
            using var all = SumAll(zeroed);
            return float.IsFinite(all.Item());
        }
        // ReduceAll takes an int count: sum rows first (rank >= 2 here, since one dimension cannot exceed int).
        using var rows = zeroed.Reshape(-1, zeroed.Shape[^1]);
        using var perRow = Sum(rows, 1);
        using var total = SumAll(perRow);
        return float.IsFinite(total.Item());
    }
}
