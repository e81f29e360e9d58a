// Activation checkpointing: run a sub-graph without recording, keep only its inputs, and recompute it
// (recording) during backward. Trainable parameters the body uses are passed too, so the node is recorded even
// when no input needs a gradient; they receive their gradients directly from the recompute.
using Lors.Tensors;

namespace Lors.Autograd;

public static class Recompute
{
    /// <summary>Applies <paramref name="body"/> to <paramref name="inputs"/> with recompute in backward.</summary>
    /// <param name="parameters">Leaves the body reads (e.g. adapter weights); not passed to the body.</param>
    public static Variable Run(Func<Variable[], Variable> body, Variable[] inputs, IReadOnlyList<Variable>? parameters = null)
    {
        if (!GradMode.IsEnabled) return body(inputs);
        var all = parameters is null ? inputs : [.. inputs, .. parameters];
        return Function.Apply(new RecomputeFn(body, inputs.Length), all);
    }

    private sealed class RecomputeFn(Func<Variable[], Variable> body, int inputCount) : Function
    {
        private Tensor[] _inputs = [];

        public override bool BackwardReadsInput(int index) => index < inputCount;
        public override bool BackwardReadsOutput => false;

        protected override Tensor Forward(Tensor[] inputs)
        {
            _inputs = inputs[..inputCount];
            using var noGrad = GradMode.NoGrad();
            using var scope = TensorScope.Begin();
            using var graph = GraphScope.Begin();
            var output = body(_inputs.Select(t => new Variable(t)).ToArray());
            graph.Forget(output); // its data becomes this node's output
            return scope.Keep(output.Data);
        }

        protected override Tensor?[] Backward(Tensor gy)
        {
            using var grad = GradMode.EnableGrad();
            var leaves = _inputs.Select((t, i) => new Variable(t, NeedsInputGrad[i])).ToArray();
            var result = new Tensor?[NeedsInputGrad.Length]; // parameters: null, they accumulated themselves
            using (var scope = TensorScope.Begin())
            using (GraphScope.Begin())
            {
                var output = body(leaves);
                if (output.RequiresGrad) output.Backward(gy);
            }
            for (int i = 0; i < leaves.Length; i++)
            {
                // Made outside any scope by the engine (fp32 like every leaf gradient); ownership passes to the outer
                // engine, which expects the gradient of an activation in the activation's own dtype.
                var g = leaves[i].Grad;
                leaves[i].Grad = null;
                if (g is not null && g.DType != _inputs[i].DType && _inputs[i].DType.IsFloat())
                {
                    var converted = g.To(_inputs[i].DType);
                    g.Dispose();
                    g = converted;
                }
                result[i] = g;
            }
            return result;
        }
    }
}
