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

    internal Variable(Tensor data, Node? creator)
    {
        Data = data;
        RequiresGrad = creator is not null;
        Creator = creator;
        IsIntermediate = true;
    }

    /// <summary>Made by a function (recorded or not), as opposed to created by the caller.</summary>
    public bool IsIntermediate { get; }

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

    /// <summary>
    /// Frees the data of an intermediate now rather than when its scope ends. Only for values that no recorded
    /// backward reads (inputs of adds, scales, masks, views...): a backward that does read it fails loudly with
    /// ObjectDisposedException. The variable stays in the graph (its shape is still known).
    /// </summary>
    public void Release()
    {
        if (!IsIntermediate) throw new InvalidOperationException($"Release: {this} was created by the caller, who disposes it");
        Data.Dispose();
    }

    /// <summary>Frees the gradient.</summary>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    public override string ToString() => $"Variable{(Name is null ? "" : " " + Name)} {Data}{(RequiresGrad ? " (grad)" : "")}";
}
