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

    /// <summary>Pending backward nodes that read this variable's data.</summary>
    internal int SavedBy { get; set; }

    /// <summary>No user code holds it any more (its GraphScope ended, or Release was called).</summary>
    internal bool Dropped { get; private set; }

    /// <summary>
    /// Frees the data of an intermediate as soon as no pending backward reads it (now, or when the last such backward
    /// has run). Model code rarely needs this: GraphScope drops what a block made when the block ends.
    /// </summary>
    public void Release()
    {
        if (!IsIntermediate) throw new InvalidOperationException($"Release: {this} was created by the caller, who disposes it");
        Drop();
    }

    internal void Drop()
    {
        Dropped = true;
        if (SavedBy == 0) Data.Dispose();
    }

    /// <summary>A backward that read the data has run.</summary>
    internal void Unsave()
    {
        if (--SavedBy == 0 && Dropped) Data.Dispose();
    }

    /// <summary>Frees the gradient.</summary>
    public void ZeroGrad()
    {
        Grad?.Dispose();
        Grad = null;
    }

    public override string ToString() => $"Variable{(Name is null ? "" : " " + Name)} {Data}{(RequiresGrad ? " (grad)" : "")}";
}
