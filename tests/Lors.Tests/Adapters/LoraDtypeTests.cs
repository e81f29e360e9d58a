// LoRA with 16-bit activations: the fp32 adapters are cast to the activations' dtype (tensor-core products on the GPU);
// output and adapter gradients must match the fp32 computation to bf16 accuracy, and the gradients stay fp32.
using Lors.Autograd;
using Lors.Tensors;
using Lors.Train.Adapters;

namespace Lors.Tests.Adapters;

public sealed class LoraDtypeTests
{
    [Fact]
    public void Bf16ActivationsMatchTheFp32Adapter()
    {
        using var scope = TensorScope.Begin();
        const int o = 24, i = 40, n = 6, r = 4;
        var w = Ops.RandomNormal([o, i], 1, 0, 0.2);
        (float[] y, float[] ga, float[] gb, DType gdt) Run(DType dt)
        {
            var baseLinear = new Lors.Models.Llama.Linear("w.weight", new Variable(w.To(dt)));
            var a = new Variable(Ops.RandomNormal([o, r], 2, 0, 0.3), true);
            var b = new Variable(Ops.RandomNormal([r, i], 3, 0, 0.3), true);
            var adapter = AdapterTestAccess.Make(baseLinear, a, b, new AdapterConfig { Method = AdapterMethod.Lora, Rank = r, Alpha = 2 * r });
            var x = new Variable(Ops.RandomNormal([n, i], 4, 0, 1).To(dt));
            var y = adapter.Forward(x);
            y.Backward(Ops.RandomNormal([n, o], 5, 0, 1).To(y.DType));
            return (y.Data.ToFloatArray(), a.Grad!.ToFloatArray(), b.Grad!.ToFloatArray(), a.Grad.DType);
        }
        var f32 = Run(DType.F32);
        var bf = Run(DType.BF16);
        Assert.Equal(DType.F32, bf.gdt);
        foreach (var (p, q, what) in new[] { (bf.y, f32.y, "y"), (bf.ga, f32.ga, "gA"), (bf.gb, f32.gb, "gB") })
        {
            double max = q.Max(v => Math.Abs(v));
            for (int k = 0; k < p.Length; k++)
                Assert.True(Math.Abs(p[k] - q[k]) <= 0.03 * max, $"{what}[{k}]: bf16 {p[k]}, f32 {q[k]}");
        }
    }
}
