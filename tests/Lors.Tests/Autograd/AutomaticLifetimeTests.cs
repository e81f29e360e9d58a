// Automatic lifetimes: a training step of the tiny Llama (CPU allocator) must peak no higher than the same step with
// the hand-placed Release() calls the model code had before (kept here as the reference forward), and lower than
// with nothing freed early; the loss and gradients must not change. Plus the rules on small graphs.
using Lors.Autograd;
using Lors.Models.Llama;
using Lors.Tensors;
using Lors.Tests.Adapters;
using Lors.Train.Adapters;
using Xunit.Abstractions;

namespace Lors.Tests.Autograd;

[Collection(nameof(AllocatorCounters))]
public sealed class AutomaticLifetimeTests(ITestOutputHelper output)
{
    private const int T = 96;

    private enum Freeing { Automatic, HandPlaced, None }

    /// <summary>The decoder layer as it was before automatic lifetimes: intermediates freed by hand (or not at all).</summary>
    private static Variable OldLayer(LlamaLayer layer, Variable x, Tensor cos, Tensor sin, bool release)
    {
        var c = layer.Config;
        float eps = (float)c.RmsNormEps;
        void Free(Variable v) { if (release) v.Release(); }
        Variable Proj(Projection p, Variable input)
        {
            if (layer[p] is not AdaptedLinear { Config.Method: AdapterMethod.Lora } a) return layer[p].Forward(input);
            var low = F.Linear(F.Linear(input, a.B), a.A);
            var scaled = F.Scale(low, a.Scale);
            var baseOut = a.Base.Forward(input);
            var y = F.Add(baseOut, scaled);
            Free(low); Free(scaled); Free(baseOut);
            return y;
        }
        Variable Attention(Variable n)
        {
            int b = n.Shape[0], t = n.Shape[1], d = c.HeadDim;
            var temps = new List<Variable>();
            Variable Heads(Variable y, int heads)
            {
                var r = F.Reshape(y, b, t, heads, d);
                temps.Add(y);
                temps.Add(r);
                return F.Permute(r, 0, 2, 1, 3);
            }
            Variable Rotated(Variable y, int heads)
            {
                var p = Heads(y, heads);
                temps.Add(p);
                return F.Rope(p, cos, sin);
            }
            var q = Rotated(Proj(Projection.Q, n), c.NumAttentionHeads);
            var k = Rotated(Proj(Projection.K, n), c.NumKeyValueHeads);
            foreach (var tmp in temps) Free(tmp);
            var v = Heads(Proj(Projection.V, n), c.NumKeyValueHeads);
            var o = F.Attention(q, k, v, 1f / MathF.Sqrt(d));
            var perm = F.Permute(o, 0, 2, 1, 3);
            var merged = F.Reshape(perm, b, t, c.NumAttentionHeads * d);
            Free(perm);
            return Proj(Projection.O, merged);
        }
        var attn = Attention(F.RmsNorm(x, layer.InputNorm, eps));
        var h = F.Add(x, attn);
        Free(attn);
        var n2 = F.RmsNorm(h, layer.PostAttentionNorm, eps);
        var mlp = Proj(Projection.Down, F.SwiGlu(Proj(Projection.Gate, n2), Proj(Projection.Up, n2)));
        var y = F.Add(h, mlp);
        Free(mlp);
        return y;
    }

    private static (long peak, float loss, float[] gradA) Step(LlamaModel model, AdapterSet set, Freeing freeing)
    {
        var mem = Backends.Cpu.Memory;
        using var scope = TensorScope.Begin();
        var ids = Tensor.FromArray(Enumerable.Range(0, T).Select(i => (i * 37 + 11) % model.Config.VocabSize).ToArray(), [1, T]);
        model.LayerRunner = freeing switch
        {
            Freeing.HandPlaced => (layer, x, cos, sin) => OldLayer(layer, x, cos, sin, release: true),
            Freeing.None => (layer, x, cos, sin) => OldLayer(layer, x, cos, sin, release: false),
            _ => null,
        };
        long before = mem.CurrentBytes;
        mem.ResetPeak();
        try
        {
            var loss = model.Loss(ids);
            loss.Backward();
            long peak = mem.PeakBytes - before;
            var a = set.Adapters[3].A;
            var g = a.Grad!.ToFloatArray();
            foreach (var ad in set.Adapters) { ad.A.ZeroGrad(); ad.B.ZeroGrad(); }
            return (peak, loss.Data.Item(), g);
        }
        finally { model.LayerRunner = null; }
    }

    [Theory]
    [InlineData(AdapterMethod.Lors)]
    [InlineData(AdapterMethod.Lora)]
    public void StepPeakDoesNotRiseOverHandPlacedReleases(AdapterMethod method)
    {
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        using var set = AdapterSet.Attach(model, new AdapterConfig { Method = method, Rank = 4, Alpha = 8 });
        foreach (var (ad, k) in set.Adapters.Select((ad, k) => (ad, k)))
        {
            using var r = Ops.RandomNormal(ad.A.Shape, (ulong)k + 1, 0, 0.05);
            Ops.CopyInto(r, ad.A.Data); // non-zero A, so every gradient path carries values
        }
        Step(model, set, Freeing.Automatic); // warm-up: lazily built tables (RoPE, masks) are not step memory
        var auto = Step(model, set, Freeing.Automatic);
        var hand = Step(model, set, Freeing.HandPlaced);
        var none = Step(model, set, Freeing.None);
        output.WriteLine($"{method}: step peak automatic {auto.peak}, hand-placed {hand.peak}, none {none.peak} bytes");
        Assert.True(auto.peak <= hand.peak, $"{method}: automatic lifetimes peak at {auto.peak} bytes, hand-placed releases at {hand.peak}");
        Assert.True(auto.peak < none.peak, $"{method}: automatic lifetimes peak at {auto.peak} bytes, no early frees at {none.peak}: nothing was freed");
        Assert.Equal(hand.loss, auto.loss);
        Assert.Equal(hand.gradA, auto.gradA);
    }

    [Fact]
    public void DroppedIntermediatesAreFreedNowOrAfterTheBackwardThatReadsThem()
    {
        using var scope = TensorScope.Begin();
        var x = new Variable(Ops.RandomNormal([4, 5], 1, 0, 1, DType.F64), true);
        Variable sum, prod, y;
        using (var g = GraphScope.Begin())
        {
            sum = F.Add(x, x);          // read by Mul's backward below: must survive the scope
            var scaled = F.Scale(x, 2); // read by Add only (which reads nothing): freed when the scope ends
            prod = F.Mul(sum, sum);
            y = g.Keep(F.Sum(F.Add(prod, scaled)));
            Assert.False(scaled.Data.IsDisposed);
            g.Dispose();
            Assert.True(scaled.Data.IsDisposed);
            Assert.False(sum.Data.IsDisposed);
            Assert.True(prod.Data.IsDisposed);
        }
        Assert.False(y.Data.IsDisposed);
        y.Backward();
        Assert.True(sum.Data.IsDisposed); // its last reader has run
        // d/dx sum((2x)^2 + 2x) = 8x + 2
        var gx = x.Grad!.ToDoubleArray();
        var xv = x.Data.ToDoubleArray();
        for (int i = 0; i < gx.Length; i++) Assert.Equal(8 * xv[i] + 2, gx[i], 12);
    }
}
