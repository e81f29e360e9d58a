// The LoRS linear against lors_fn_ref.safetensors (float64 reference of y, gx, gA, gB and the exact masked
// gradients), and the memory claim: nothing of size out x in is held between forward and backward.
using Lors.Autograd;
using Lors.Models.Formats;
using Lors.Tensors;
using Lors.Train.Adapters;

namespace Lors.Tests.Adapters;

/// <summary>Tests that read the CPU allocator's shared byte counters run alone.</summary>
[CollectionDefinition(nameof(AllocatorCounters), DisableParallelization = true)]
public sealed class AllocatorCounters;

[Collection(nameof(AllocatorCounters))]
public sealed class LorsFunctionTests
{
    private static Tensor Load(SafetensorsFile f, string name)
    {
        var e = f.Get(name);
        return Tensor.FromBytes(f.GetBytes(e), e.Shape.Select(d => (int)d).ToArray(), DType.F64);
    }

    private static void AssertClose(Tensor got, Tensor want, string what, double tol = 1e-10)
    {
        var g = got.ToDoubleArray();
        var w = want.ToDoubleArray();
        Assert.Equal(w.Length, g.Length);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < w.Length; i++) { maxDiff = Math.Max(maxDiff, Math.Abs(g[i] - w[i])); maxRef = Math.Max(maxRef, Math.Abs(w[i])); }
        Assert.True(maxDiff <= tol * maxRef, $"{what}: max |diff| {maxDiff:E3} vs max |ref| {maxRef:E3}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatchesTheFloat64Reference(bool exact)
    {
        using var scope = TensorScope.Begin();
        using var f = SafetensorsFile.Open(Path.Combine(RepoPaths.Fixtures, "lors_fn_ref.safetensors"));
        float s = (float)Load(f, "s").ToDoubleArray()[0];
        var x = new Variable(Load(f, "x"), true);
        var w = new Variable(Load(f, "W"));
        var a = new Variable(Load(f, "A"), true);
        var b = new Variable(Load(f, "B"), true);
        var y = Function.Apply(new LorsLinearFn(s, exact), x, w, a, b);
        AssertClose(y.Data, Load(f, "y"), "y");
        y.Backward(Load(f, "gy"));
        AssertClose(x.Grad!, Load(f, "gx"), "gx");
        AssertClose(a.Grad!, Load(f, exact ? "gA_exact" : "gA"), exact ? "gA_exact" : "gA");
        AssertClose(b.Grad!, Load(f, exact ? "gB_exact" : "gB"), exact ? "gB_exact" : "gB");
    }

    [Fact]
    public void FixtureWeightIsTwoFourSparseAndOutputUsesTheMask()
    {
        using var scope = TensorScope.Begin();
        using var f = SafetensorsFile.Open(Path.Combine(RepoPaths.Fixtures, "lors_fn_ref.safetensors"));
        var w = Load(f, "W").ToDoubleArray();
        for (int g = 0; g < w.Length / 4; g++) Assert.Equal(2, Enumerable.Range(0, 4).Count(k => w[g * 4 + k] == 0));
        var merged = LorsLinearFn.MergedWeight(Load(f, "W"), Load(f, "A"), Load(f, "B"), 2f).ToDoubleArray();
        for (int i = 0; i < w.Length; i++) if (w[i] == 0) Assert.Equal(0.0, merged[i]);
    }

    /// <summary>Bytes held between forward and backward, measured by the allocator, for one adapted layer.</summary>
    private static long HeldBytes(AdapterMethod method, int outF, int inF, int n, int r)
    {
        var backend = Backends.Cpu;
        using var outer = TensorScope.Begin();
        var weight = Ops.RandomNormal([outF, inF], 1);
        var model = new Lors.Models.Llama.Linear("w.weight", new Variable(weight));
        var a = new Variable(Ops.RandomNormal([outF, r], 2, 0, 0.01), true);
        var b = new Variable(Ops.RandomNormal([r, inF], 3, 0, 0.01), true);
        var adapter = AdapterTestAccess.Make(model, a, b, new AdapterConfig { Method = method, Rank = r, Alpha = r });
        var x = new Variable(Ops.RandomNormal([n, inF], 4), false);
        using var inner = TensorScope.Begin();
        long before = backend.Memory.CurrentBytes;
        var y = adapter.Forward(x);
        long held = backend.Memory.CurrentBytes - before - y.Data.ByteCount;
        var loss = F.Sum(y);
        loss.Backward();
        Assert.NotNull(a.Grad);
        Assert.NotNull(b.Grad);
        a.ZeroGrad();
        b.ZeroGrad();
        return held;
    }

    [Fact]
    public void LorsHoldsNothingOfSizeOutByInBetweenForwardAndBackward()
    {
        const int outF = 192, inF = 256, n = 8, r = 4;
        long dense = (long)outF * inF * sizeof(float);
        long lors = HeldBytes(AdapterMethod.Lors, outF, inF, n, r);
        long masked = HeldBytes(AdapterMethod.Masked, outF, inF, n, r);
        long ckpt = HeldBytes(AdapterMethod.MaskedCheckpoint, outF, inF, n, r);
        Assert.True(lors < dense, $"LoRS held {lors} bytes; an out x in matrix is {dense}");
        Assert.True(masked >= dense, $"the masked baseline held only {masked} bytes; it should keep W' ({dense})");
        Assert.True(ckpt < dense, $"the checkpointed masked baseline held {ckpt} bytes");
    }
}
