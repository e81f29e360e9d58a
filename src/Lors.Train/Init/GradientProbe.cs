// The stand-in for an adapted linear during the gradient init: y = x W^T with the frozen W [out, in], whose backward
// adds this batch's dense gradient gy^T x into an fp32 accumulator [out, in] on W's device (beta = 1 GEMM, fp32
// accumulation even when activations are bf16), and passes gx = gy W on. No gradient ever lands in W.Grad.
using Lors.Autograd;
using Lors.Autograd.Functions;
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Train.Init;

internal sealed class GradientProbe : ILinear, IDisposable
{
    // Recording needs an input that requires grad; this stand-in variable shares W's storage and never receives one.
    private readonly Variable _tracked;

    public GradientProbe(ILinear inner)
    {
        Name = inner.Name;
        Weight = inner.Weight;
        _tracked = new Variable(inner.Weight.Data, requiresGrad: true, inner.Name);
        Accumulator = Tensor.Zeros([inner.OutFeatures, inner.InFeatures], DType.F32, inner.Weight.Data.Device);
    }

    public string Name { get; }
    public Variable Weight { get; }
    public int InFeatures => Weight.Shape[1];
    public int OutFeatures => Weight.Shape[0];
    /// <summary>The sum over batches of dL/dW, fp32 [out, in].</summary>
    public Tensor Accumulator { get; }

    public Variable Forward(Variable x) => Function.Apply(new ProbeFn(Accumulator), x, _tracked);

    public void Dispose() => Accumulator.Dispose();

    private sealed class ProbeFn(Tensor acc) : Function
    {
        private Tensor _x = null!, _w = null!;

        public override bool BackwardReadsOutput => false;

        protected override Tensor Forward(Tensor[] inputs)
        {
            (_x, _w) = (inputs[0], inputs[1]);
            return LinearFn.Product(_x, _w);
        }

        protected override Tensor?[] Backward(Tensor gy)
        {
            using var g2 = gy.ReshapeOrCopy(-1, gy.Shape[^1]);
            using (var x2 = _x.ReshapeOrCopy(-1, _x.Shape[^1]))
                Ops.MatMulInto(g2, x2, acc, transA: true, beta: 1f);   // acc += gy^T x
            if (!NeedsInputGrad[0]) return [null, null];
            using var gx2 = Ops.MatMul(g2, _w);
            return [gx2.Reshape(_x.Shape), null];
        }
    }
}
