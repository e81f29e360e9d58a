// RoPE inverse frequencies (default, linear, llama3) against the formulas evaluated independently in
// double precision here, and the cos/sin tables' rotate-half layout.
using Lors.Models.Formats;
using Lors.Models.Llama;

namespace Lors.Tests.Formats;

public class RopeTests
{
    private static LlamaConfig Llama31 => LlamaConfig.Parse(LlamaConfigTests.V4Llama3, "llama31.json");

    private static double[] DefaultFormula(double theta, int dim) =>
        Enumerable.Range(0, dim / 2).Select(i => 1.0 / Math.Pow(theta, 2.0 * i / dim)).ToArray();

    private static void AssertRelClose(double expected, double actual, double rel, string what) =>
        Assert.True(Math.Abs(expected - actual) <= rel * Math.Abs(expected), $"{what}: expected {expected:R}, got {actual:R}");

    [Fact]
    public void DefaultMatchesFormulaForTinyModel()
    {
        var c = LlamaConfig.Load(FmtPaths.TinyModel);
        double[] inv = Rope.InverseFrequencies(c);
        double[] expected = DefaultFormula(10000, 32);
        Assert.Equal(16, inv.Length);
        Assert.Equal(1.0, inv[0]);
        for (int i = 0; i < inv.Length; i++)
        {
            AssertRelClose(expected[i], inv[i], 1e-6, $"inv_freq[{i}]");
            Assert.Equal((double)(float)inv[i], inv[i]);   // float32 values, as HF holds them
        }
        Assert.Equal(1.0f, Rope.AttentionScaling(c));
    }

    [Fact]
    public void LinearDividesByFactor()
    {
        var c = LlamaConfig.Load(FmtPaths.TinyModel);
        var lin = c with { RopeScaling = new RopeScaling { Type = "linear", Factor = 3 } };
        double[] baseInv = Rope.InverseFrequencies(c), inv = Rope.InverseFrequencies(lin);
        for (int i = 0; i < inv.Length; i++) Assert.Equal((double)((float)baseInv[i] / 3f), inv[i]);
    }

    [Fact]
    public void Llama3MatchesIndependentFormula()
    {
        // Llama-3.1: theta 500000, factor 8, low 1, high 4, original context 8192, head_dim 128.
        var c = Llama31;
        double[] inv = Rope.InverseFrequencies(c);
        double[] plain = DefaultFormula(500000, 128);
        const double factor = 8, low = 1, high = 4, oldLen = 8192;
        int kept = 0, scaled = 0, smoothed = 0;
        for (int i = 0; i < 64; i++)
        {
            double wavelen = 2 * Math.PI / plain[i];
            double expected;
            if (wavelen < oldLen / high) { expected = plain[i]; kept++; }
            else if (wavelen > oldLen / low) { expected = plain[i] / factor; scaled++; }
            else
            {
                double smooth = (oldLen / wavelen - low) / (high - low);
                expected = (1 - smooth) * plain[i] / factor + smooth * plain[i];
                smoothed++;
            }
            AssertRelClose(expected, inv[i], 1e-5, $"llama3 inv_freq[{i}]");
        }
        // All three regimes occur with these parameters, so each branch is exercised.
        Assert.True(kept > 0 && scaled > 0 && smoothed > 0, $"kept {kept}, scaled {scaled}, smoothed {smoothed}");
        Assert.Equal(1.0, inv[0]);
        Assert.Equal(1.0f, Rope.AttentionScaling(c));
    }

    [Fact]
    public void CosSinUseRotateHalfLayout()
    {
        var c = LlamaConfig.Load(FmtPaths.TinyModel);
        int d = c.HeadDim, half = d / 2, n = 300;
        var cos = new float[n * d];
        var sin = new float[n * d];
        Rope.CosSin(c, n, cos, sin);
        float[] inv = Array.ConvertAll(Rope.InverseFrequencies(c), x => (float)x);
        for (int p = 0; p < n; p++)
            for (int i = 0; i < half; i++)
            {
                Assert.Equal(cos[p * d + i], cos[p * d + half + i]);
                Assert.Equal(sin[p * d + i], sin[p * d + half + i]);
                float freq = inv[i] * p;   // HF's float32 product
                Assert.Equal(Math.Cos(freq), cos[p * d + i], 1e-6);
                Assert.Equal(Math.Sin(freq), sin[p * d + i], 1e-6);
            }
        Assert.All(cos[..d], x => Assert.Equal(1f, x));
        Assert.All(sin[..d], x => Assert.Equal(0f, x));
        Assert.Throws<ArgumentException>(() => Rope.CosSin(c, n + 1, cos, sin));
    }
}
