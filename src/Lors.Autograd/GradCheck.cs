// Gradient check: compares the autograd gradient of a scalar function with central finite differences in F64.
using Lors.Tensors;

namespace Lors.Autograd;

public static class GradCheck
{
    public sealed record Result(int Input, double MaxAbsError, double MaxRelError, bool Passed, string Message);

    /// <summary>
    /// Checks d f(inputs) / d input for every input that requires grad. Inputs must be F64 on the CPU;
    /// f must return a scalar or any tensor (reduced to a weighted sum with fixed random weights).
    /// </summary>
    public static IReadOnlyList<Result> Check(Func<Variable[], Variable> f, Tensor[] inputs, bool[]? requiresGrad = null,
        double eps = 1e-6, double atol = 1e-7, double rtol = 1e-5)
    {
        foreach (var t in inputs)
            if (t.DType.IsFloat() && t.DType != DType.F64)
                throw new ArgumentException($"GradCheck: inputs must be f64, got {t.DType.Name()} {Tensor.ShapeString(t.Shape)}");
        requiresGrad ??= inputs.Select(t => t.DType == DType.F64).ToArray();
        Tensor? weights = null;

        double Eval(Tensor[] xs)
        {
            using var scope = TensorScope.Begin();
            using var _ = GradMode.NoGrad();
            var y = f(xs.Select(x => new Variable(x)).ToArray()).Data;
            weights ??= WeightsFor(y);
            using var prod = Ops.Mul(y, weights);
            return prod.ToDoubleArray().Sum();
        }

        // Analytic gradients.
        var vars = inputs.Select((t, i) => new Variable(t, requiresGrad[i])).ToArray();
        using (var scope = TensorScope.Begin())
        {
            var y = f(vars);
            weights ??= WeightsFor(y.Data);
            if (!y.RequiresGrad) throw new InvalidOperationException("GradCheck: the output does not depend on any input that requires grad");
            y.Backward(weights);
        }

        var results = new List<Result>();
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!requiresGrad[i]) continue;
            var analytic = vars[i].Grad?.ToDoubleArray() ?? new double[inputs[i].Numel];
            vars[i].ZeroGrad();
            var x = inputs[i].ToDoubleArray();
            double maxAbs = 0, maxRel = 0;
            string worst = "";
            for (int k = 0; k < x.Length; k++)
            {
                double saved = x[k];
                x[k] = saved + eps;
                double plus = EvalWith(i, x);
                x[k] = saved - eps;
                double minus = EvalWith(i, x);
                x[k] = saved;
                double numeric = (plus - minus) / (2 * eps);
                double abs = Math.Abs(numeric - analytic[k]);
                double rel = abs / Math.Max(Math.Abs(numeric), 1e-12);
                if (abs > atol + rtol * Math.Abs(numeric) && abs > maxAbs) worst = $"element {k}: numeric {numeric:G10}, analytic {analytic[k]:G10}";
                maxAbs = Math.Max(maxAbs, abs);
                if (abs > atol) maxRel = Math.Max(maxRel, rel);
            }
            bool ok = worst.Length == 0;
            results.Add(new Result(i, maxAbs, maxRel, ok, ok ? "ok" : $"input {i} {Tensor.ShapeString(inputs[i].Shape)}: {worst}"));
        }
        weights?.Dispose();
        return results;

        double EvalWith(int index, double[] values)
        {
            using var t = Tensor.FromArray(values, inputs[index].Shape);
            var xs = (Tensor[])inputs.Clone();
            xs[index] = t;
            return Eval(xs);
        }
    }

    private static Tensor WeightsFor(Tensor y)
    {
        using var _ = TensorScope.Detached();
        var w = new double[y.Numel];
        for (int i = 0; i < w.Length; i++) w[i] = 0.5 + Lors.Tensors.Rng.Uniform(12345, i);
        return Tensor.FromArray(w, y.Shape, y.Device);
    }
}
