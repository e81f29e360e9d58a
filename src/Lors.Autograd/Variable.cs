// A Variable is a tensor in the autograd graph: its data, its gradient, and the node that produced it.
using Lors.Tensors;

namespace Lors.Autograd;

public sealed class Variable
{
    public Variable(Tensor data, bool requiresGrad = false, string? name = null)
    {
        Data = data;
        RequiresGrad = requiresGrad;
        Name = name;
    }

    internal Variable(Tensor data, Node creator)
    {
        Data = data;
        RequiresGrad = true;
        Creator = creator;
    }

    public Tensor Data { get; }
    /// <summary>Accumulated gradient of a leaf (null until a backward pass reaches it). The variable's owner disposes it.</summary>
    public Tensor? Grad { get; set; }
    public bool RequiresGrad { get; }
    public string? Name { get; set; }
    internal Node? Creator { get; }

    public bool IsLeaf => Creator is null;
    public int[] Shape => Data.Shape;
    public DType DType => Data.DType;
    public int Rank => Data.Rank;

    /// <summary>Back-propagates from this scalar (or with an explicit upstream gradient) into every leaf that requires grad.</summary>
    public void Backward(Tensor? gradOutput = null) => Engine.Backward(this, gradOutput);

    /// <summary>Frees the gradient.</summary>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    public override string ToString() => $"Variable{(Name is null ? "" : " " + Name)} {Data}{(RequiresGrad ? " (grad)" : "")}";
}
