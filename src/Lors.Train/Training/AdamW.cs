// AdamW over named fp32 parameters: moments m and v per parameter (allocated outside any TensorScope), a step
// counter for bias correction, decoupled weight decay; the arithmetic is the backend's Ops.AdamW kernel.
using Lors.Autograd;
using Lors.Tensors;

namespace Lors.Train.Training;

public sealed class AdamW : IDisposable
{
    private readonly (string Name, Variable Param)[] _params;
    private readonly Tensor[] _m, _v;
    private readonly Func<string, bool>? _noDecay;

    /// <param name="noDecay">Names for which weight decay is off (e.g. norms); null decays everything.</param>
    public AdamW(IReadOnlyList<(string Name, Variable Param)> parameters, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0.0, Func<string, bool>? noDecay = null)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, p) in parameters)
        {
            if (!names.Add(name)) throw new ArgumentException($"AdamW: parameter name '{name}' given twice");
            if (!p.RequiresGrad) throw new ArgumentException($"AdamW: parameter '{name}' does not require grad");
            if (p.DType != DType.F32) throw new ArgumentException($"AdamW: parameter '{name}' is {p.DType.Name()}; trainable parameters must be F32");
            if (!p.Data.IsContiguous) throw new ArgumentException($"AdamW: parameter '{name}' must be contiguous");
        }
        _params = parameters.ToArray();
        (Beta1, Beta2, Eps, WeightDecay) = (beta1, beta2, eps, weightDecay);
        _noDecay = noDecay;
        using var _ = TensorScope.Detached();
        _m = _params.Select(p => p.Param.Data.ZerosLike(DType.F32)).ToArray();
        _v = _params.Select(p => p.Param.Data.ZerosLike(DType.F32)).ToArray();
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    /// <summary>Updates made so far (the next update uses StepCount + 1 for bias correction).</summary>
    public int StepCount { get; set; }
    public IReadOnlyList<(string Name, Variable Param)> Parameters => _params;

    /// <summary>One update with learning rate <paramref name="lr"/>; parameters without a gradient are left alone.</summary>
    public void Step(double lr, float gradScale = 1f)
    {
        StepCount++;
        for (int i = 0; i < _params.Length; i++)
        {
            var (name, p) = _params[i];
            if (p.Grad is null) continue;
            float wd = _noDecay?.Invoke(name) == true ? 0f : (float)WeightDecay;
            Ops.AdamW(p.Data, p.Grad, _m[i], _v[i], new AdamWArgs((float)lr, (float)Beta1, (float)Beta2, (float)Eps, wd, StepCount, gradScale));
        }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in _params) p.ZeroGrad();
    }

    /// <summary>The moments by parameter name (views of the live tensors: copy before changing them).</summary>
    public IEnumerable<(string Name, Tensor M, Tensor V)> Moments()
    {
        for (int i = 0; i < _params.Length; i++) yield return (_params[i].Name, _m[i], _v[i]);
    }

    public void Dispose()
    {
        foreach (var t in _m) t.Dispose();
        foreach (var t in _v) t.Dispose();
    }
}
