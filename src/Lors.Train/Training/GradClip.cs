// Gradient clipping by the global L2 norm over all parameters' gradients.
using Lors.Autograd;
using Lors.Tensors;

namespace Lors.Train.Training;

public static class GradClip
{
    /// <summary>The L2 norm over all gradients (parameters without a gradient count as zero), summed in double.</summary>
    public static double GlobalNorm(IEnumerable<Variable> parameters)
    {
        double sum = 0;
        foreach (var p in parameters)
        {
            if (p.Grad is null) continue;
            using var s = Ops.SumSquaresAll(p.Grad);
            sum += s.Item();
        }
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Scales every gradient by maxNorm / norm when the global norm exceeds maxNorm (maxNorm &lt;= 0 disables clipping).
    /// Returns the norm before clipping. A non-finite norm is returned as is and nothing is scaled (the caller stops).
    /// </summary>
    public static double ClipByGlobalNorm(IReadOnlyList<Variable> parameters, double maxNorm)
    {
        double norm = GlobalNorm(parameters);
        if (maxNorm > 0 && double.IsFinite(norm) && norm > maxNorm)
        {
            double scale = maxNorm / (norm + 1e-6);
            foreach (var p in parameters)
                if (p.Grad is not null) Ops.ScaleInPlace(p.Grad, scale);
        }
        return norm;
    }
}
