// The linear layers of the model sit behind this interface so that adapters (Lors.Train) can wrap them
// without the model knowing. Weight layout is Hugging Face's: [out, in]; y = x @ W^T.
using Lors.Autograd;
using Lors.Tensors;

namespace Lors.Models.Llama;

public interface ILinear
{
    /// <summary>The Hugging Face parameter name, e.g. "model.layers.0.self_attn.q_proj.weight".</summary>
    string Name { get; }
    int InFeatures { get; }
    int OutFeatures { get; }
    /// <summary>The base weight [out, in] (frozen during adapter training).</summary>
    Variable Weight { get; }
    /// <summary>x [..., in] to y [..., out].</summary>
    Variable Forward(Variable x);
}

/// <summary>A plain linear layer without bias (Llama has none).</summary>
public sealed class Linear(string name, Variable weight) : ILinear
{
    public string Name { get; } = name;
    public Variable Weight { get; } = weight;
    public int InFeatures => Weight.Shape[1];
    public int OutFeatures => Weight.Shape[0];
    public Variable Forward(Variable x) => F.Linear(x, Weight);
    public override string ToString() => $"Linear {Name} [{OutFeatures}, {InFeatures}]";
}

/// <summary>Which projection of a decoder layer a linear is.</summary>
public enum Projection { Q, K, V, O, Gate, Up, Down }

public static class Projections
{
    public static readonly Projection[] All = [Projection.Q, Projection.K, Projection.V, Projection.O, Projection.Gate, Projection.Up, Projection.Down];

    public static string Short(this Projection p) => p switch
    {
        Projection.Q => "q", Projection.K => "k", Projection.V => "v", Projection.O => "o",
        Projection.Gate => "gate", Projection.Up => "up", _ => "down",
    };

    public static Projection Parse(string s) => s.Trim().ToLowerInvariant() switch
    {
        "q" or "q_proj" => Projection.Q, "k" or "k_proj" => Projection.K, "v" or "v_proj" => Projection.V,
        "o" or "o_proj" => Projection.O, "gate" or "gate_proj" => Projection.Gate, "up" or "up_proj" => Projection.Up,
        "down" or "down_proj" => Projection.Down,
        _ => throw new ArgumentException($"unknown projection '{s}' (expected q, k, v, o, gate, up or down)"),
    };

    public static string ParameterName(int layer, Projection p) => p switch
    {
        Projection.Q or Projection.K or Projection.V or Projection.O => $"model.layers.{layer}.self_attn.{p.Short()}_proj.weight",
        _ => $"model.layers.{layer}.mlp.{p.Short()}_proj.weight",
    };
}
