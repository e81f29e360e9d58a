// Reverse-mode pass: order nodes topologically from the root, walk them in reverse, accumulate gradients.
// Intermediate gradients are freed as soon as their node has consumed them; leaf gradients go into Variable.Grad
// (allocated outside any TensorScope, so they outlive the step that made them).
using Lors.Tensors;

namespace Lors.Autograd;

internal static class Engine
{
    public static void Backward(Variable root, Tensor? gradOutput)
    {
        if (!root.RequiresGrad) throw new InvalidOperationException($"Backward: {root} does not require grad (no input of it does)");
        if (gradOutput is null && root.Data.Numel != 1)
            throw new ArgumentException($"Backward: a gradient is needed for non-scalar output {Tensor.ShapeString(root.Shape)}");
        if (gradOutput is not null && !gradOutput.Shape.AsSpan().SequenceEqual(root.Shape))
            throw new ArgumentException($"Backward: gradient {Tensor.ShapeString(gradOutput.Shape)} does not match output {Tensor.ShapeString(root.Shape)}");

        var order = TopologicalOrder(root);
        var grads = new Dictionary<Variable, Tensor>(ReferenceEqualityComparer.Instance);
        var seed = gradOutput is null ? Tensor.Full(root.Shape, 1.0, root.Data.DType.ComputeType(), root.Data.Device) : gradOutput.Contiguous();
        if (root.IsLeaf) { Accumulate(root, seed); return; }
        grads[root] = seed;

        using var _ = GradMode.NoGrad();
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var v = order[i];
            if (!grads.Remove(v, out var g)) continue;
            var node = v.Creator!;
            if (node.Done) throw new InvalidOperationException($"Backward: the graph through {node.Function} was already back-propagated");
            Tensor?[] inputGrads;
            try { inputGrads = node.Function.RunBackward(g); }
            finally
            {
                g.Dispose();
                node.Function.Release();
                node.ReleaseSaved();
                node.Done = true;
            }
            for (int k = 0; k < node.Inputs.Length; k++)
            {
                var input = node.Inputs[k];
                var gi = inputGrads[k];
                if (gi is null) continue;
                if (!input.RequiresGrad) { gi.Dispose(); continue; }
                if (!gi.Shape.AsSpan().SequenceEqual(input.Shape))
                    throw new InvalidOperationException($"{node.Function}.Backward: gradient {Tensor.ShapeString(gi.Shape)} for input {k} of shape {Tensor.ShapeString(input.Shape)}");
                if (input.IsLeaf) { Accumulate(input, gi); continue; }
                if (grads.TryGetValue(input, out var existing))
                {
                    Ops.AddInPlace(existing, gi);
                    gi.Dispose();
                }
                else grads[input] = gi.IsContiguous ? gi : Contig(gi);
            }
        }
        foreach (var left in grads.Values) left.Dispose();
    }

    private static Tensor Contig(Tensor t)
    {
        var c = t.Contiguous();
        t.Dispose();
        return c;
    }

    private static void Accumulate(Variable leaf, Tensor g)
    {
        using var _ = TensorScope.Detached();
        if (leaf.Grad is null)
        {
            // Leaf gradients are kept in fp32 (F64 for F64 leaves) whatever the leaf's storage type.
            var dt = leaf.Data.DType == DType.F64 ? DType.F64 : DType.F32;
            leaf.Grad = g.To(dt);
        }
        else Ops.AddInPlace(leaf.Grad, g);
        g.Dispose();
    }

    private static List<Variable> TopologicalOrder(Variable root)
    {
        var order = new List<Variable>();
        var visited = new HashSet<Variable>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Variable v, int next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (v, next) = stack.Pop();
            var inputs = v.Creator?.Inputs ?? [];
            if (next < inputs.Length)
            {
                stack.Push((v, next + 1));
                var child = inputs[next];
                if (child.RequiresGrad && !child.IsLeaf && visited.Add(child)) stack.Push((child, 0));
                continue;
            }
            order.Add(v);
        }
        return order; // children before parents; the root is last
    }
}
