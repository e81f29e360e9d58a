// A linear layer with a low-rank adapter, wrapping the model's base linear (the model does not know).
// A [out, r] starts at zero, B [r, in]; s = alpha / sqrt(r). The method decides how the update is applied.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Train.Adapters;

public sealed class AdaptedLinear : ILinear
{
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

    private Variable LorsForward(Variable x) => Base is Compressed24Linear c
        ? Function.Apply(new LorsLinear24Fn(c.Compressed, Scale, Config.Gradient == LorsGradient.ExactMasked), x, A, B)
        : Function.Apply(new LorsLinearFn(Scale, Config.Gradient == LorsGradient.ExactMasked), x, Weight, A, B);

    /// <summary>
    /// Base(x) + s (x B^T) A^T; the scope frees the terms of the sum (no backward reads them) once added. With 16-bit
    /// activations the small A and B are cast to their dtype, so the products run on tensor cores instead of widening x.
    /// </summary>
    private Variable LoraForward(Variable x) => GraphScope.Run(() =>
    {
        bool low = x.DType is DType.BF16 or DType.F16;
        var a = low ? F.Cast(A, x.DType) : A;
        var b = low ? F.Cast(B, x.DType) : B;
        return F.Add(Base.Forward(x), F.Scale(F.Linear(F.Linear(x, b), a), Scale));
    });

    /// <summary>
    /// W' = (W + s A B) * M through autograd, so the graph keeps W' until backward (SQFT-style); W' is formed by the
    /// fused merge (one pass over W, no A B tensor), as PyTorch would with a fused kernel.
    /// </summary>
    private Variable MaskedForward(Variable x, Variable a, Variable b)
    {
        if (Base is Compressed24Linear)
            throw new NotSupportedException($"{Name}: the {Config.Method} method keeps W' in the graph and needs a dense weight; use lors (or --compressed-24 off)");
        var merged = Function.Apply(new MaskedLowRankMergeFn(Scale), Weight, a, b);
        return F.Linear(x, merged);
    }

    /// <summary>The merged weight this adapter stands for, in W's dtype: W + s A B, masked for every method but LoRA.</summary>
    public Tensor MergedWeight()
    {
        using var _ = GradMode.NoGrad();
        if (Base is Compressed24Linear c)
        {
            if (Config.Method == AdapterMethod.Lora) throw new NotSupportedException($"{Name}: an unmasked LoRA merge does not fit a compressed 2:4 weight");
            return Ops.MaskedLowRankMerge24(c.Compressed, A.Data, B.Data, Scale, dense: true);
        }
        if (Config.Method != AdapterMethod.Lora) return LorsLinearFn.MergedWeight(Weight.Data, A.Data, B.Data, Scale);
        using var ab = Ops.MatMul(A.Data, B.Data, outType: DType.F32);
        using var w32 = Weight.Data.To(DType.F32);
        Ops.AddInPlace(w32, ab, Scale);
        return w32.To(Weight.Data.DType);
    }

    public override string ToString() => $"{Config.Method} adapter on {Name} (r={A.Shape[1]}, s={Scale:G4})";
}

/// <summary>Test access: builds a single adapter around any linear.</summary>
internal static class AdapterTestAccess
{
    public static AdaptedLinear Make(ILinear linear, Variable a, Variable b, AdapterConfig config) => new(linear, a, b, config);
}
