// A linear layer with a low-rank adapter, wrapping the model's base linear (the model does not know).
// A [out, r] starts at zero, B [r, in]; s = alpha / sqrt(r). The method decides how the update is applied.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Train.Adapters;

public sealed class AdaptedLinear : ILinear
{
    private Tensor? _mask; // U8 [out, in], built lazily for the masked baselines

    internal AdaptedLinear(ILinear baseLinear, Variable a, Variable b, AdapterConfig config)
    {
        Base = baseLinear;
        A = a;
        B = b;
        Config = config;
    }

    public ILinear Base { get; }
    public Variable A { get; }
    public Variable B { get; }
    public AdapterConfig Config { get; }
    public float Scale => (float)Config.Scale;

    public string Name => Base.Name;
    public int InFeatures => Base.InFeatures;
    public int OutFeatures => Base.OutFeatures;
    public Variable Weight => Base.Weight;

    public Variable Forward(Variable x) => Config.Method switch
    {
        AdapterMethod.Lors => LorsForward(x),
        AdapterMethod.Lora => LoraForward(x),
        AdapterMethod.Masked => MaskedForward(x, A, B),
        AdapterMethod.MaskedCheckpoint => Recompute.Run(v => MaskedForward(v[0], A, B), [x], [A, B]),
        _ => throw new NotSupportedException($"adapter method {Config.Method}"),
    };

    private Variable LorsForward(Variable x) => Function.Apply(new LorsLinearFn(Scale, exactGradient: Config.Gradient == LorsGradient.ExactMasked), x, Weight, A, B);

    private Variable LoraForward(Variable x)
    {
        var low = F.Linear(F.Linear(x, B), A); // (x B^T) A^T
        var scaled = F.Scale(low, Scale);
        var baseOut = Base.Forward(x);
        var y = F.Add(baseOut, scaled);
        low.Release();    // inputs of a scale and an add: no backward reads them
        scaled.Release();
        baseOut.Release();
        return y;
    }

    /// <summary>W' = (W + s A B) * M built with ordinary autograd ops, so the graph keeps W' until backward.</summary>
    private Variable MaskedForward(Variable x, Variable a, Variable b)
    {
        var ab = F.MatMul(a, b);
        var delta = F.Scale(ab, Scale);
        var sum = F.Add(Weight, delta);
        var merged = F.Mask(sum, Mask);
        ab.Release();     // read by no backward (scale, add and mask keep nothing); W' is kept by the linear
        delta.Release();
        sum.Release();
        return F.Linear(x, merged);
    }

    private Tensor Mask
    {
        get
        {
            if (_mask is null)
            {
                using var _ = TensorScope.Detached();
                _mask = Ops.NonZeroMask(Weight.Data);
            }
            return _mask;
        }
    }

    /// <summary>The merged weight this adapter stands for, in W's dtype: W + s A B, masked for every method but LoRA.</summary>
    public Tensor MergedWeight()
    {
        using var _ = GradMode.NoGrad();
        if (Config.Method != AdapterMethod.Lora) return LorsLinearFn.MergedWeight(Weight.Data, A.Data, B.Data, Scale);
        using var ab = Ops.MatMul(A.Data, B.Data, outType: DType.F32);
        using var w32 = Weight.Data.To(DType.F32);
        Ops.AddInPlace(w32, ab, Scale);
        return w32.To(Weight.Data.DType);
    }

    internal void ReleaseMaskForTests() => ReleaseMask();

    internal void ReleaseMask()
    {
        _mask?.Dispose();
        _mask = null;
    }

    public override string ToString() => $"{Config.Method} adapter on {Name} (r={A.Shape[1]}, s={Scale:G4})";
}

/// <summary>Test access: builds a single adapter around any linear.</summary>
internal static class AdapterTestAccess
{
    public static AdaptedLinear Make(ILinear linear, Variable a, Variable b, AdapterConfig config) => new(linear, a, b, config);
}
