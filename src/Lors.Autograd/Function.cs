// A differentiable primitive: Forward computes the output from input tensors and keeps what Backward needs
// in its own fields; Backward returns one gradient per input (null where none is needed).
// One instance is made per application, so fields are the saved context.
using Lors.Tensors;

namespace Lors.Autograd;

public abstract class Function
{
    private List<Tensor>? _owned;

    /// <summary>Which inputs need a gradient (known before Forward runs, so Forward can skip saving what is not needed).</summary>
    protected bool[] NeedsInputGrad { get; private set; } = [];

    /// <summary>True when the graph is being recorded (Backward will run); false under NoGrad.</summary>
    protected bool Recording { get; private set; }

    protected abstract Tensor Forward(Tensor[] inputs);
    protected abstract Tensor?[] Backward(Tensor gradOutput);

    /// <summary>
    /// Whether Backward reads the data of input i (directly, not through a view or copy it saved itself). False lets an
    /// intermediate input be freed as soon as user code drops it. The default is the safe answer.
    /// </summary>
    public virtual bool BackwardReadsInput(int index) => true;

    /// <summary>Whether Backward reads the output's data (softmax, attention); false for most functions.</summary>
    public virtual bool BackwardReadsOutput => true;

    /// <summary>Marks a tensor made by Forward as saved by this node: it is freed once Backward has run.</summary>
    protected Tensor Save(Tensor t)
    {
        (_owned ??= new()).Add(t);
        return t;
    }

    /// <summary>The function's label in profiles (its type name unless it says more, e.g. which kernel ran).</summary>
    protected virtual string ProfileName => GetType().Name;

    /// <summary>Runs the function on variables and records a node when any input requires grad.</summary>
    public static Variable Apply(Function fn, params Variable[] inputs)
    {
        bool record = GradMode.IsEnabled && inputs.Any(v => v.RequiresGrad);
        fn.Recording = record;
        fn.NeedsInputGrad = inputs.Select(v => record && v.RequiresGrad).ToArray();
        var data = inputs.Select(v => v.Data).ToArray();
        var output = Profiler.Enabled ? Profiler.Time(() => fn.ProfileName + ".forward", () => fn.Forward(data)) : fn.Forward(data);
        if (!record)
        {
            fn.Release();
            var plain = new Variable(output, creator: null);
            GraphScope.Track(plain);
            return plain;
        }
        var node = new Node(fn, inputs);
        var result = new Variable(output, node);
        // Intermediates this node's backward reads stay alive (even when dropped) until the backward has run.
        var saved = new List<Variable>();
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i].IsIntermediate && fn.BackwardReadsInput(i)) saved.Add(inputs[i]);
        if (fn.BackwardReadsOutput) saved.Add(result);
        foreach (var v in saved) v.SavedBy++;
        node.Saved = saved.ToArray();
        GraphScope.Track(result);
        return result;
    }

    internal Tensor?[] RunBackward(Tensor gradOutput)
    {
        var grads = Profiler.Enabled ? Profiler.Time(() => ProfileName + ".backward", () => Backward(gradOutput)) : Backward(gradOutput);
        if (grads.Length != NeedsInputGrad.Length)
            throw new InvalidOperationException($"{GetType().Name}.Backward returned {grads.Length} gradients for {NeedsInputGrad.Length} inputs");
        return grads;
    }

    internal void Release()
    {
        if (_owned is null) return;
        foreach (var t in _owned) t.Dispose();
        _owned = null;
    }

    public override string ToString() => GetType().Name;
}

/// <summary>A recorded application of a function: the graph edge from its output back to its inputs.</summary>
internal sealed class Node
{
    public Node(Function fn, Variable[] inputs)
    {
        Function = fn;
        Inputs = inputs;
    }

    public Function Function { get; }
    public Variable[] Inputs { get; }
    /// <summary>Variables whose data the backward reads; each is released once the backward has run.</summary>
    public Variable[] Saved { get; set; } = [];
    public bool Done { get; set; }

    /// <summary>After backward: the saved intermediates may now be freed (if user code dropped them).</summary>
    public void ReleaseSaved()
    {
        foreach (var v in Saved) v.Unsave();
        Saved = [];
    }
}
